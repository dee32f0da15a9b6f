"""The rows of every export kind, built from plain dicts, and the schema of each kind.

No Django and no database here: the export task reads interactions and annotations,
turns each record into plain values and calls one of these builders. A record that
cannot become a row raises ``RowError`` whose ``reason`` is the key counted under
``counts.excluded`` in the manifest.

Key names are the ones the consumers expect, exactly:

- ``sft``: ``{"messages": [{"role", "content"}, ...]}``, the chat format of OpenAI
  fine-tuning and of TRL's ``SFTTrainer``; nothing else on the line, because OpenAI
  rejects unknown top-level keys.
- ``preference``: TRL's conversational preference format,
  ``{"prompt": [messages], "chosen": [assistant turn], "rejected": [assistant turn]}``.
- ``openai_dpo``: the same pairs in OpenAI's preference (DPO) fine-tuning format,
  ``{"input": {"messages": [...]}, "preferred_output": [assistant turn],
  "non_preferred_output": [assistant turn]}``; nothing else on the line.
- ``eval``, ``retrieval``, ``annotations``: our own flat rows, described by ``FIELDS``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

# Bump when a field is added, removed, renamed or changes type; the manifest records it.
# 2: annotation rows carry the item's adjudication and the interaction's metadata.
SCHEMA_VERSION = 2
# Parquet row groups: at most this many rows, and about this many bytes.
ROW_GROUP_ROWS = 50_000
ROW_GROUP_BYTES = 64 << 20

Kind = Literal["sft", "preference", "openai_dpo", "eval", "retrieval", "annotations"]
KINDS: tuple[Kind, ...] = get_args(Kind)

# How a field is stored. ``messages`` is a list of {role, content}; ``strings`` a list
# of str; ``json`` a free-form JSON object whose keys depend on the queue's label schema.
FieldType = Literal["string", "int", "float", "bool", "timestamp", "messages", "strings", "json"]

ROLES = frozenset({"system", "user", "assistant", "tool"})

Message = dict[str, str]


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: FieldType
    nullable: bool = False

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "type": self.type, "nullable": self.nullable}


FIELDS: Mapping[Kind, tuple[Field, ...]] = {
    "sft": (Field("messages", "messages"),),
    "preference": (
        Field("prompt", "messages"),
        Field("chosen", "messages"),
        Field("rejected", "messages"),
    ),
    "openai_dpo": (
        Field("input", "json"),
        Field("preferred_output", "messages"),
        Field("non_preferred_output", "messages"),
    ),
    "eval": (
        Field("id", "string"),
        Field("prompt", "messages"),
        Field("reference", "string", nullable=True),
        Field("response", "string", nullable=True),
        Field("labels", "json"),
        Field("reasons", "strings"),
    ),
    "retrieval": (
        Field("query_id", "string", nullable=True),
        Field("query", "string"),
        Field("doc_id", "string"),
        Field("doc_text", "string"),
        Field("relevant", "bool"),
        Field("rank", "int"),
        Field("score", "float", nullable=True),
        Field("source", "string", nullable=True),
    ),
    "annotations": (
        Field("annotation_id", "int"),
        Field("request_id", "string"),
        Field("queue_id", "int"),
        Field("queue", "string"),
        Field("item_id", "int"),
        Field("item_reasons", "strings"),
        Field("inclusion_probability", "float", nullable=True),
        Field("annotator", "string"),
        Field("guideline_version", "int", nullable=True),
        Field("revision", "int"),
        Field("seconds", "float", nullable=True),
        Field("values", "json"),
        Field("created_at", "timestamp"),
        Field("updated_at", "timestamp"),
        Field("adjudication", "json", nullable=True),
        Field("metadata", "json"),
    ),
}


def check_kind(kind: str) -> Kind:
    if kind not in FIELDS:
        raise ValueError(f"unknown export kind {kind!r}; expected one of {', '.join(KINDS)}")
    return kind  # type: ignore[return-value]


def fields_for(kind: str) -> tuple[Field, ...]:
    return FIELDS[check_kind(kind)]


def field_names(kind: str) -> tuple[str, ...]:
    return tuple(f.name for f in fields_for(kind))


def schema_for(kind: str) -> dict[str, object]:
    """The kind's schema as JSON, as recorded in the manifest."""
    return {
        "version": SCHEMA_VERSION,
        "fields": [f.to_dict() for f in fields_for(kind)],
    }


class RowError(ValueError):
    """Why one record cannot become a row; ``reason`` is counted in the manifest."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# --- messages ----------------------------------------------------------------------


def chat_messages(messages: Sequence[Mapping[str, Any]] | str) -> list[Message]:
    """Normalise a conversation to fresh ``{"role", "content"}`` dicts.

    A plain string is one user turn (interactions may carry a prompt string). Keys other
    than role and content are dropped so every row of a kind has the same shape.
    """
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if type(messages) is list:
        # The common case, decoded JSON, without the (slow) ABC checks; anything
        # unusual goes the careful way below, which says what is wrong.
        fast: list[Message] = []
        for message in messages:
            if type(message) is not dict:
                break
            role = message.get("role")
            content = message.get("content")
            if role not in ROLES or type(content) is not str:
                break
            fast.append({"role": role, "content": content})
        else:
            return fast
    if not isinstance(messages, Sequence):
        raise RowError("invalid_messages", "messages must be a list of {role, content} objects")
    out: list[Message] = []
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise RowError("invalid_messages", f"messages[{i}] is not an object")
        role = message.get("role")
        content = message.get("content")
        if role not in ROLES:
            raise RowError(
                "invalid_messages",
                f"messages[{i}].role is {role!r}; expected one of {', '.join(sorted(ROLES))}",
            )
        if not isinstance(content, str):
            raise RowError("invalid_messages", f"messages[{i}].content is not a string")
        out.append({"role": role, "content": content})
    return out


def prompt_messages(
    messages: Sequence[Mapping[str, Any]] | str, system_prompt: str | None = None
) -> list[Message]:
    """The turns a model sees before it answers.

    A trailing assistant turn is the response being replaced and is dropped. A non-empty
    ``system_prompt`` becomes the first turn, replacing a leading system turn if any.
    """
    prompt = chat_messages(messages)
    if prompt and prompt[-1]["role"] == "assistant":
        prompt.pop()
    if system_prompt:
        if prompt and prompt[0]["role"] == "system":
            prompt[0] = {"role": "system", "content": system_prompt}
        else:
            prompt.insert(0, {"role": "system", "content": system_prompt})
    for message in prompt:
        if message["role"] == "user":
            return prompt
    raise RowError("no_user_turn", "the conversation has no user turn to answer")


def _assistant(text: object, what: str) -> Message:
    # isspace() rather than strip(): no copy of a long answer just to test it.
    if not isinstance(text, str) or not text or text.isspace():
        raise RowError("empty_response", f"the {what} is empty")
    return {"role": "assistant", "content": text}


# --- builders ----------------------------------------------------------------------


def sft_row(
    messages: Sequence[Mapping[str, Any]] | str,
    final_text: str,
    system_prompt: str | None = None,
) -> dict[str, Any]:
    """``{"messages": [...]}`` ending with ``final_text`` (a correction or the approved original)."""
    prompt = prompt_messages(messages, system_prompt)
    prompt.append(_assistant(final_text, "final assistant turn"))
    return {"messages": prompt}


def preference_row(
    messages: Sequence[Mapping[str, Any]] | str,
    chosen: str,
    rejected: str,
    system_prompt: str | None = None,
) -> dict[str, Any]:
    """TRL's conversational preference row: prompt turns, one chosen and one rejected answer."""
    prompt = prompt_messages(messages, system_prompt)
    chosen_turn = _assistant(chosen, "chosen answer")
    rejected_turn = _assistant(rejected, "rejected answer")
    if chosen.strip() == rejected.strip():
        raise RowError("identical_pair", "the chosen and rejected answers are the same")
    return {"prompt": prompt, "chosen": [chosen_turn], "rejected": [rejected_turn]}


def openai_dpo_row(pair: Mapping[str, Any]) -> dict[str, Any]:
    """A ``preference_row`` in OpenAI's preference fine-tuning shape: the prompt turns under
    ``input.messages``, the chosen turn as ``preferred_output``, the rejected one as
    ``non_preferred_output`` (each a list holding one assistant message)."""
    return {
        "input": {"messages": list(pair["prompt"])},
        "preferred_output": list(pair["chosen"]),
        "non_preferred_output": list(pair["rejected"]),
    }


def eval_row(
    messages: Sequence[Mapping[str, Any]] | str,
    reference: str | None,
    *,
    id: str,
    response: str | None = None,
    labels: Mapping[str, Any] | None = None,
    reasons: Sequence[str] = (),
    system_prompt: str | None = None,
) -> dict[str, Any]:
    """One evaluation case: the prompt, the reference answer, the original response and its labels.

    ``reference`` is ``None`` when reviewers labelled the response without writing or
    approving an answer; ``labels`` are the review values (verdict, rating, ...) and
    ``reasons`` the taxonomy reasons (incorrect, unhelpful, ...).
    """
    if reference is not None and not reference.strip():
        reference = None
    if response is not None and not response.strip():
        response = None
    return {
        "id": str(id),
        "prompt": prompt_messages(messages, system_prompt),
        "reference": reference,
        "response": response,
        "labels": dict(labels or {}),
        "reasons": [str(r) for r in reasons],
    }


def retrieval_rows(
    query: str,
    documents: Sequence[Mapping[str, Any]],
    relevance: Mapping[str, bool | int],
    *,
    query_id: str | None = None,
) -> Iterator[dict[str, Any]]:
    """One row per judged retrieved document: (query, document id, text, relevant or not).

    ``documents`` are the interaction's ``retrieved_context`` entries ``{id, text, score,
    source}`` in retrieval order (``rank`` starts at 1). ``relevance`` maps a document id
    to a judgement: a bool, or a graded int where 0 means not relevant. Documents without
    a judgement are left out (unjudged is not "not relevant"); judgements of ids that were
    not retrieved are ignored. Everything is checked before the first row is returned, so
    a bad record raises ``RowError`` without leaving half of its rows behind.
    """
    if not isinstance(query, str) or not query.strip():
        raise RowError("empty_query", "the retrieval query is empty")
    rows: list[dict[str, Any]] = []
    for rank, doc in enumerate(documents, start=1):
        if not isinstance(doc, Mapping) or doc.get("id") is None:
            raise RowError("invalid_document", f"retrieved_context[{rank - 1}] has no id")
        doc_id = str(doc["id"])
        if doc_id not in relevance:
            continue
        label = relevance[doc_id]
        if not isinstance(label, bool | int):
            raise RowError(
                "invalid_relevance",
                f"the judgement of document {doc_id!r} is {label!r}; expected a bool or an int",
            )
        text = doc.get("text")
        if not isinstance(text, str):
            raise RowError("invalid_document", f"document {doc_id!r} has no text")
        score = doc.get("score")
        source = doc.get("source")
        rows.append(
            {
                "query_id": query_id,
                "query": query,
                "doc_id": doc_id,
                "doc_text": text,
                "relevant": label > 0,
                "rank": rank,
                "score": float(score) if isinstance(score, int | float) else None,
                "source": str(source) if source is not None else None,
            }
        )
    if not rows:
        raise RowError("no_judgements", "no retrieved document has a relevance judgement")
    return iter(rows)


def annotation_row(
    *,
    annotation_id: int,
    request_id: str,
    queue_id: int,
    queue: str,
    item_id: int,
    annotator: str,
    values: Mapping[str, Any],
    created_at: datetime,
    updated_at: datetime,
    item_reasons: Sequence[str] = (),
    inclusion_probability: float | None = None,
    guideline_version: int | None = None,
    revision: int = 1,
    seconds: float | None = None,
    adjudication: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Flatten one annotation with its item, queue and annotator into one row.

    Takes the names of ``FIELDS["annotations"]`` as keywords, so a queryset's
    ``.values(...)`` with those aliases can be splatted in. Timestamps must be aware
    and come out in UTC; ``values`` stays one JSON object because its keys follow each
    queue's label schema. ``adjudication`` is the lead's final values for the item (the
    same on every annotation of it), ``None`` when there is none; ``metadata`` is the
    interaction's metadata object.
    """
    return {
        "annotation_id": int(annotation_id),
        "request_id": str(request_id),
        "queue_id": int(queue_id),
        "queue": str(queue),
        "item_id": int(item_id),
        "item_reasons": [str(r) for r in item_reasons],
        "inclusion_probability": (
            float(inclusion_probability) if inclusion_probability is not None else None
        ),
        "annotator": str(annotator),
        "guideline_version": int(guideline_version) if guideline_version is not None else None,
        "revision": int(revision),
        "seconds": float(seconds) if seconds is not None else None,
        "values": dict(values),
        "created_at": _utc(created_at, "created_at"),
        "updated_at": _utc(updated_at, "updated_at"),
        "adjudication": dict(adjudication) if adjudication is not None else None,
        "metadata": dict(metadata or {}),
    }


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got the naive {value.isoformat()}")
    return value.astimezone(UTC)
