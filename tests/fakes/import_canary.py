"""A module no test imports: if it ever shows up in sys.modules, something imported a path a
request named."""

from __future__ import annotations


def boom(prompt: str, response: str) -> dict[str, object]:
    raise AssertionError("an evaluator path from a request was imported and run")
