"""Reading interaction files: our own JSONL and Anthropic's HH-RLHF preference format."""

from __future__ import annotations

import gzip
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import msgspec

from annotation.schemas.decoding import field_and_message
from annotation.schemas.ingestion import FeedbackIn, InteractionIn, Message

_TURN = re.compile(r"\n\n(Human|Assistant): ")


@dataclass
class ParsedLine:
    line: int
    interaction: InteractionIn | None = None
    feedback: list[FeedbackIn] = field(default_factory=list)
    error: str = ""


def open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return path.open(encoding="utf-8")


def parse_hh_dialogue(text: str) -> list[Message]:
    """Split '\\n\\nHuman: …\\n\\nAssistant: …' into chat messages."""
    # Splitting with a capturing group gives ["", "Human", text, "Assistant", text, ...].
    parts = _TURN.split("\n\n" + text.lstrip("\n"))
    messages: list[Message] = []
    for speaker, content in zip(parts[1::2], parts[2::2], strict=True):
        messages.append(
            Message(role="user" if speaker == "Human" else "assistant", content=content.strip())
        )
    return messages


def hh_rlhf_interaction(record: dict[str, Any]) -> InteractionIn:
    """One HH-RLHF preference pair as an interaction with an A/B pair of answers.

    The dialogue up to the last assistant turn is the prompt; the two last assistant turns, the
    human's `chosen` and `rejected`, become the response (A) and `metadata.response_b` (B), the
    pair the workspace shows side by side and a preference export turns into chosen/rejected.
    Which side holds the chosen answer alternates with the pair's digest, so reviewers cannot
    learn a position; `metadata.hh_preferred` ("A" or "B") records the human's choice.
    """
    chosen = _hh_dialogue(record, "chosen")
    rejected = _hh_dialogue(record, "rejected")
    if chosen[:-1] != rejected[:-1]:
        raise ValueError(
            "`chosen` and `rejected` differ before their last Assistant turn; a preference pair "
            "needs one dialogue with two answers"
        )
    digest = hashlib.sha256(msgspec.json.encode([record["chosen"], record["rejected"]])).hexdigest()
    preferred = "A" if int(digest[-1], 16) % 2 == 0 else "B"
    a, b = (chosen[-1], rejected[-1]) if preferred == "A" else (rejected[-1], chosen[-1])
    return InteractionIn(
        request_id=f"hh-rlhf-{digest[:20]}",
        messages=rejected[:-1],
        response=a.content,
        model="hh-rlhf",
        prompt_template="hh-rlhf-harmless",
        metadata={"response_b": b.content, "hh_preferred": preferred},
    )


def _hh_dialogue(record: dict[str, Any], key: str) -> list[Message]:
    text = record.get(key)
    if not isinstance(text, str):
        raise ValueError(f"`{key}` must be the dialogue as a string")
    messages = parse_hh_dialogue(text)
    if len(messages) < 2 or messages[-1].role != "assistant":
        raise ValueError(f"`{key}` does not end with an Assistant turn")
    return messages


def read_jsonl(path: Path, *, fmt: str) -> Iterator[ParsedLine]:
    """Yield one parsed interaction (with feedback, for our format) or one error per line."""
    with open_text(path) as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                record = msgspec.json.decode(text)
                if not isinstance(record, dict):
                    raise ValueError("each line must be a JSON object")
                if fmt == "hh-rlhf":
                    yield ParsedLine(number, hh_rlhf_interaction(record))
                    continue
                feedback_raw = record.pop("feedback", [])
                interaction = msgspec.convert(record, InteractionIn)
                feedback = [
                    msgspec.convert({**entry, "request_id": interaction.request_id}, FeedbackIn)
                    for entry in feedback_raw
                ]
                yield ParsedLine(number, interaction, feedback)
            except (msgspec.ValidationError, ValueError, KeyError, TypeError) as exc:
                if isinstance(exc, msgspec.ValidationError):
                    where, message = field_and_message(exc)
                    yield ParsedLine(number, error=f"{where}: {message}" if where else message)
                else:
                    yield ParsedLine(number, error=str(exc))
