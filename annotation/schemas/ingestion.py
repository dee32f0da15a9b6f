"""The shapes ingestion accepts, as msgspec structs (validated in C, about 1 µs per row).

The same structs produce the OpenAPI components (see `annotation.api.openapi`), so the docs and the
validation cannot drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec

from annotation.schemas.safe_json import MAX_JSON_DEPTH, json_problem

MAX_BATCH_ITEMS = 1000
MAX_TEXT_CHARS = 1_000_000
MAX_SHORT_CHARS = 255
MAX_MESSAGES = 1000
MAX_DOCUMENTS = 200
MAX_LABELS = 50
MAX_METADATA_BYTES = 64 * 1024

Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT_CHARS)]
Short = Annotated[str, msgspec.Meta(max_length=MAX_SHORT_CHARS)]
RequestId = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_SHORT_CHARS,
        pattern=r"^[^\s/?#]+$",
        description="The application's id for this model call; unique per project.",
        examples=["req-123"],
    ),
]
NonNegativeFloat = Annotated[float, msgspec.Meta(ge=0)]
Count = Annotated[int, msgspec.Meta(ge=0, le=2_147_483_647)]
Role = Literal["system", "user", "assistant", "tool", "developer"]


def check_metadata_size(metadata: dict[str, Any]) -> None:
    if not metadata:
        return
    encoded = msgspec.json.encode(metadata)
    if len(encoded) > MAX_METADATA_BYTES:
        raise ValueError(
            f"metadata is larger than {MAX_METADATA_BYTES // 1024} KB of JSON; keep it small - at `$.metadata`"
        )
    # The rest of a row has a fixed shape; only metadata can nest without bound. Fewer brackets
    # than the limit cannot nest past it, so most rows skip the walk.
    if encoded.count(b"{") + encoded.count(b"[") < MAX_JSON_DEPTH:
        return
    problem = json_problem(metadata, path="metadata", depth=1)
    if problem is not None:
        raise ValueError(f"{problem.message} - at `$.{problem.field}`")


# Stored timestamps must be readable back: PostgreSQL and Python hold years 1-9999 in UTC, so a
# year-1 time with a +14:00 offset (year 0 in UTC) was stored and then broke every page reading
# it. Real traffic is this century, and at most a day ahead of our clock.
EARLIEST_TIMESTAMP = datetime(2000, 1, 1, tzinfo=UTC)
MAX_FUTURE = timedelta(days=1)
MAX_UTC_OFFSET = timedelta(hours=14)


def _offset_text(offset: timedelta) -> str:
    minutes = int(abs(offset).total_seconds()) // 60
    return f"{'-' if offset < timedelta(0) else '+'}{minutes // 60:02d}:{minutes % 60:02d}"


def check_timestamp(value: datetime | None, field: str = "timestamp") -> None:
    """Refuse a time outside 2000-01-01 .. now + 1 day (UTC), or an offset beyond ±14:00."""
    if value is None:
        return
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise ValueError(
            f"`{field}` has the UTC offset {_offset_text(offset)}; "
            f"offsets are between -14:00 and +14:00 - at `$.{field}`"
        )
    latest = datetime.now(UTC) + MAX_FUTURE
    if not EARLIEST_TIMESTAMP <= value <= latest:
        raise ValueError(
            f"`{field}` must be between {EARLIEST_TIMESTAMP:%Y-%m-%dT%H:%M:%SZ} and now + 1 day "
            f"({latest:%Y-%m-%dT%H:%M:%SZ}), in RFC 3339 with an offset; got "
            f"{value.isoformat()} - at `$.{field}`"
        )


class Message(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    role: Role
    content: Text
    name: Short | None = None


class RetrievedDocument(msgspec.Struct, forbid_unknown_fields=True):
    id: Short
    text: Text
    score: float | None = None
    source: Short | None = None


class InteractionIn(msgspec.Struct, forbid_unknown_fields=True):
    """One LLM call: the prompt (chat `messages` or a plain `prompt`) and the response."""

    request_id: RequestId
    response: Text
    messages: Annotated[list[Message], msgspec.Meta(max_length=MAX_MESSAGES)] | None = None
    prompt: Text | None = None
    timestamp: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    model: Short = ""
    model_version: Short = ""
    prompt_template: Short = ""
    prompt_template_version: Short = ""
    retrieved_context: Annotated[
        list[RetrievedDocument], msgspec.Meta(max_length=MAX_DOCUMENTS)
    ] = msgspec.field(default_factory=list)
    user_id: Short = ""
    session_id: Short = ""
    experiment: Short = ""
    variant: Short = ""
    latency_ms: NonNegativeFloat | None = None
    tokens_in: Count | None = None
    tokens_out: Count | None = None
    cost: NonNegativeFloat | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.messages is None and self.prompt is None:
            raise ValueError(
                "Object missing required field `messages`; send chat `messages` or a plain `prompt`"
            )
        if self.messages is not None and self.prompt is not None:
            raise ValueError("send either `messages` or `prompt`, not both - at `$.prompt`")
        if self.messages is not None and not self.messages:
            raise ValueError("`messages` is empty; send at least one message - at `$.messages`")
        check_timestamp(self.timestamp)
        check_metadata_size(self.metadata)

    def chat(self) -> list[Message]:
        if self.messages is not None:
            return self.messages
        return [Message(role="user", content=self.prompt or "")]


FeedbackSourceIn = Literal["user", "automated"]


FeedbackId = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_SHORT_CHARS,
        description="Your id for this piece of feedback: a retry with the same id stores nothing.",
    ),
]


class _FeedbackBase(msgspec.Struct, forbid_unknown_fields=True, tag_field="kind", kw_only=True):
    request_id: RequestId
    feedback_id: FeedbackId = ""
    timestamp: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    user_id: Short = ""
    source: FeedbackSourceIn = "user"
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        check_timestamp(self.timestamp)
        check_metadata_size(self.metadata)


RatingScaleIn = Literal["thumbs", "stars5", "score10"]


class RatingIn(_FeedbackBase, tag="rating"):
    """A rating: thumbs (0 down, 1 up), stars5 (1-5) or score10 (0-10)."""

    value: float
    scale: RatingScaleIn

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.scale == "thumbs" and self.value not in (0, 1):
            raise ValueError(
                f"a thumbs rating is 0 (down) or 1 (up), got {self.value:g} - at `$.value`"
            )
        if self.scale == "stars5" and (self.value not in (1, 2, 3, 4, 5)):
            raise ValueError(
                f"a stars5 rating is a whole number 1-5, got {self.value:g} - at `$.value`"
            )
        if self.scale == "score10" and not 0 <= self.value <= 10:
            raise ValueError(
                f"a score10 rating is between 0 and 10, got {self.value:g} - at `$.value`"
            )

    def normalized(self) -> float:
        if self.scale == "stars5":
            return (self.value - 1) / 4
        if self.scale == "score10":
            return self.value / 10
        return float(self.value)


class LabelIn(_FeedbackBase, tag="label"):
    """Reasons from the project's taxonomy."""

    labels: Annotated[list[Short], msgspec.Meta(min_length=1, max_length=MAX_LABELS)]


class CorrectionIn(_FeedbackBase, tag="correction"):
    """What the response should have been."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT_CHARS)]


class CommentIn(_FeedbackBase, tag="comment"):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT_CHARS)]


ImplicitEventIn = Literal[
    "copy", "click", "dwell", "task_completed", "abandoned", "rephrased", "regenerated"
]


class ImplicitIn(_FeedbackBase, tag="implicit"):
    """A behavioural signal; `dwell` carries its duration in seconds as `value`."""

    event: ImplicitEventIn
    value: NonNegativeFloat | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.event == "dwell" and self.value is None:
            raise ValueError("a dwell event needs `value`, the seconds spent - at `$.value`")


FeedbackIn = RatingIn | LabelIn | CorrectionIn | CommentIn | ImplicitIn


class InteractionBatch(msgspec.Struct, forbid_unknown_fields=True):
    """Up to 1,000 interactions; each is validated on its own and errors are reported by index."""

    items: Annotated[list[InteractionIn], msgspec.Meta(min_length=1, max_length=MAX_BATCH_ITEMS)]


class FeedbackBatch(msgspec.Struct, forbid_unknown_fields=True):
    """Up to 1,000 feedback objects; each is validated on its own and errors reported by index."""

    items: Annotated[list[FeedbackIn], msgspec.Meta(min_length=1, max_length=MAX_BATCH_ITEMS)]
