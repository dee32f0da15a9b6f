"""What a check concludes about one interaction, before it is stored as a Flag."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Verdict:
    check_id: int
    severity: int
    # Rules: 1.0 for a hit. Evaluators: their own score in [0, 1], 1 = fully meets the rubric;
    # None when the evaluation failed.
    score: float | None
    flagged: bool = True
    spans: list[dict[str, Any]] = field(default_factory=list)
    label: str = ""
    rationale: str = ""


@dataclass(frozen=True, slots=True)
class InteractionText:
    """The parts of an interaction the checks read."""

    id: int
    response: str
    messages: list[dict[str, Any]]
    prompt_template: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    retrieved_context: list[dict[str, Any]] = field(default_factory=list)

    @property
    def prompt(self) -> str:
        """The conversation before the response, one message per paragraph."""
        return "\n\n".join(str(message.get("content", "")) for message in self.messages)

    @property
    def context(self) -> str:
        """Retrieved documents, for rubrics that judge groundedness."""
        return "\n\n".join(
            f"[{doc.get('id', '')}] {doc.get('text', '')}" for doc in self.retrieved_context
        )
