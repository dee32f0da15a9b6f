"""Python evaluators that tests register in settings.EVALUATORS for `python` checks."""

from __future__ import annotations


def shouting(prompt: str, response: str) -> dict[str, object]:
    """Scores how calm a response is: all capitals fails."""
    calm = not (response.isupper() and len(response) > 3)
    return {"score": 1.0 if calm else 0.0, "label": "calm" if calm else "shouting", "rationale": ""}


def broken(prompt: str, response: str) -> dict[str, object]:
    return {"score": "very high"}


def graded(prompt: str, response: str) -> dict[str, object]:
    """Scores a response with the number it ends with ("… grade 0.8"), to test score handling."""
    return {"score": float(response.rsplit(" ", 1)[-1]), "label": "graded", "rationale": ""}
