"""What ingestion stores of the text it receives, by the project's privacy mode.

Every ingestion path (the API, OTLP traces, the widget, imports) builds its rows through
`annotation.services.ingestion`, which asks this module for the fields to store, so nothing raw
is written anywhere first: not the interaction, not its feedback, not a staging table.

- `store`: as received.
- `redact`: personal data (the `pii` check's detectors) in the messages, the plain prompt, the
  response, retrieved documents, metadata strings and feedback texts becomes a typed placeholder
  (`[EMAIL]`, `[PHONE]`, …); the row's `redactions` records the kinds and where each placeholder
  stands, never a value.
- `drop_prompt`: the response is kept; the prompt (every message) and the retrieved documents
  are not stored.

`user_id` is pseudonymised in every mode (`annotation.services.secrets.pseudonymise`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from annotation.models.project import PrivacyMode
from annotation.privacy.redaction import Redactions, dropped_record
from annotation.schemas.ingestion import FeedbackIn, InteractionIn

MODES = tuple(PrivacyMode.values)


@dataclass(frozen=True)
class InteractionText:
    messages: Any
    response: str
    retrieved_context: Any
    metadata: Any
    redactions: dict[str, Any] | None


@dataclass(frozen=True)
class FeedbackText:
    text: str
    metadata: Any
    redactions: dict[str, Any] | None


def interaction_text(mode: str, item: InteractionIn) -> InteractionText:
    """The text fields of an incoming interaction as the project's mode lets them be stored."""
    if mode == PrivacyMode.STORE:
        return InteractionText(
            item.chat(), item.response, item.retrieved_context, item.metadata, None
        )
    if mode == PrivacyMode.DROP_PROMPT:
        return InteractionText(
            [], item.response, [], item.metadata, dropped_record(["messages", "retrieved_context"])
        )
    found = Redactions()
    messages = []
    for n, message in enumerate(item.chat()):
        turn: dict[str, Any] = {
            "role": message.role,
            "content": found.text(f"messages[{n}].content", message.content),
        }
        if message.name is not None:
            turn["name"] = found.text(f"messages[{n}].name", message.name)
        messages.append(turn)
    documents = [
        {
            "id": document.id,
            "text": found.text(f"retrieved_context[{n}].text", document.text),
            "score": document.score,
            "source": document.source,
        }
        for n, document in enumerate(item.retrieved_context)
    ]
    response = found.text("response", item.response)
    metadata = found.json("metadata", item.metadata)
    return InteractionText(messages, response, documents, metadata, found.record())


def feedback_text(mode: str, item: FeedbackIn) -> FeedbackText:
    """The text and metadata of incoming feedback as the project's mode lets them be stored.

    Corrections and comments are what users wrote about a response, not the prompt, so
    `drop_prompt` keeps them; `redact` redacts them like any other text.
    """
    text: str = getattr(item, "text", "") if item.__struct_config__.tag in _TEXT_KINDS else ""
    if mode != PrivacyMode.REDACT:
        return FeedbackText(text, item.metadata, None)
    found = Redactions()
    text = found.text("text", text)
    metadata = found.json("metadata", item.metadata)
    return FeedbackText(text, metadata, found.record())


_TEXT_KINDS = frozenset({"correction", "comment"})
