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
    """The dialogue up to the last assistant turn is the prompt; `rejected`'s last turn the response."""
    rejected = parse_hh_dialogue(record["rejected"])
    if len(rejected) < 2 or rejected[-1].role != "assistant":
        raise ValueError("the dialogue does not end with an Assistant turn")
    digest = hashlib.sha256(record["rejected"].encode()).hexdigest()[:20]
    return InteractionIn(
        request_id=f"hh-rlhf-{digest}",
        messages=rejected[:-1],
        response=rejected[-1].content,
        model="hh-rlhf",
        prompt_template="hh-rlhf-harmless",
    )


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
