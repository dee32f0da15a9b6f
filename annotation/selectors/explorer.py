"""The interaction explorer: a project's interactions filtered, searched and paged by keyset.

`explorer_query_parse` turns the query string (the dashboards' link contract, README
"Interaction explorer") into an `ExplorerQuery` or raises `InvalidQuery` naming the parameter;
`explorer_page` reads one page, newest first, keyed on (timestamp, id) so page 10,000 costs what
page 1 costs; `explorer_ids` the ids of every match, bounded, for sending them to a queue.

Full text: on PostgreSQL, `q` is `plainto_tsquery('simple', q)` (every word, no stemming, so
names, codes and any language match as typed) against one document per interaction, the
response and the contents of its messages; the GIN expression index of migration 0014 serves
exactly that expression (`DOCUMENT_SQL`). On SQLite (the demo), every word must occur in the
response or the messages as a case-insensitive substring.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Exists, Expression, OuterRef, Prefetch, Q, QuerySet, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Left
from django.db.models.sql.compiler import SQLCompiler

from annotation.insights.definitions import NEGATIVE_RATING
from annotation.insights.query import (
    DIMENSIONS,
    InvalidQuery,
    SliceFilter,
    parse_filters,
    parse_time,
)
from annotation.keyset import keyset_decode, keyset_encode
from annotation.models import (
    Adjudication,
    Annotation,
    Check,
    Feedback,
    Flag,
    Interaction,
    Project,
    Queue,
    QueueItem,
    Severity,
)
from annotation.models.feedback import FeedbackKind
from annotation.models.review import ItemState
from annotation.review.settle import is_negative, schema_roles, settle

PAGE_SIZE = 50
# "All matching" sends at most this many interactions to a queue in one go.
MAX_SELECTION = 5_000
MAX_TEXT = 200
EXCERPT_CHARS = 200
MAX_METADATA_FILTERS = 10
MAX_VALUES = 50
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("", "0", "false", "no", "off")

# The expression the GIN index of migration 0014 is built on; a query uses the index only when it
# spells the same expression. `annotation_prompt_text` (same migration) joins the messages'
# contents with spaces.
DOCUMENT_SQL = (
    "to_tsvector('simple'::regconfig, "
    "COALESCE({table}.response, '') || ' ' || annotation_prompt_text({table}.messages))"
)


@dataclass(frozen=True)
class ExplorerQuery:
    """What the explorer shows: every field empty keeps every interaction."""

    since: datetime | None = None
    until: datetime | None = None
    slices: SliceFilter = field(default_factory=SliceFilter)
    rating_min: float | None = None
    rating_max: float | None = None
    kinds: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    flagged: tuple[str, ...] = ()
    min_severity: int | None = None
    queue_id: int | None = None
    queue_states: tuple[str, ...] = ()
    metadata: tuple[tuple[str, str], ...] = ()
    negative: bool = False
    reviewed_bad: bool = False
    text: str = ""
    after: tuple[datetime, int] | None = None


# -- parsing ---------------------------------------------------------------------------------------


def cursor_encode(after: tuple[datetime, int]) -> str:
    return keyset_encode(after)


def cursor_decode(cursor: str | None) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    try:
        return keyset_decode(cursor)
    except ValueError:
        raise InvalidQuery(
            "after", "`after` is not a cursor of this page; follow the “Older” link as is."
        ) from None


def _values(params: Mapping[str, Sequence[str]], name: str) -> tuple[str, ...]:
    """Comma-separated or repeated values, trimmed; empty ones dropped."""
    raw = [part.strip() for value in params.get(name, ()) for part in value.split(",")]
    values = tuple(dict.fromkeys(part for part in raw if part))
    if len(values) > MAX_VALUES:
        raise InvalidQuery(name, f"At most {MAX_VALUES} values for `{name}`")
    return values


def _single(params: Mapping[str, Sequence[str]], name: str) -> str:
    values = [value for value in params.get(name, ()) if value.strip()]
    if len(values) > 1:
        raise InvalidQuery(name, f"Send `{name}` once; it was sent {len(values)} times")
    return values[0].strip() if values else ""


# A "+01:00" offset pasted into a URL unencoded arrives as " 01:00".
_SPACED_OFFSET = re.compile(r"(T\d\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d:?\d\d)$")


def _moment(params: Mapping[str, Sequence[str]], name: str) -> str:
    return _SPACED_OFFSET.sub(r"\1+\2", _single(params, name))


def _flag(params: Mapping[str, Sequence[str]], name: str) -> bool:
    raw = _single(params, name).lower()
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise InvalidQuery(name, f"`{name}` is 1 or 0, not {raw[:40]!r}")


def _score(params: Mapping[str, Sequence[str]], name: str) -> float | None:
    raw = _single(params, name)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:  # also NaN
        raise InvalidQuery(
            name, f"`{name}` is a normalised rating between 0 and 1, not {raw[:40]!r}"
        )
    return value


def explorer_query_parse(params: Mapping[str, Sequence[str]], *, project: Project) -> ExplorerQuery:
    """The explorer's query from its parameters (lists of values per name), checked against
    `project`: unknown checks, queues, kinds or states are refused naming the parameter."""
    since = parse_time("since", _moment(params, "since"))
    until = parse_time("until", _moment(params, "until"))
    if since is not None and until is not None and since >= until:
        raise InvalidQuery(
            "since", "`since` must be before `until`; the range is empty or inverted"
        )
    # Links (the dashboards') are read exactly as the metrics API reads them, so `model_version=`
    # keeps the slice with no version; the explorer's own form (`form=1`) sends every field, and
    # there an empty one filters nothing.
    from_form = _single(params, "form") == "1"
    slices = parse_filters(
        {
            name: _values(params, name) if from_form else list(params.get(name, ()))
            for name in DIMENSIONS
        }
    )
    rating_min, rating_max = _score(params, "rating_min"), _score(params, "rating_max")
    if rating_min is not None and rating_max is not None and rating_min > rating_max:
        raise InvalidQuery("rating_min", "`rating_min` is above `rating_max`; nothing can match")
    kinds = _values(params, "kind")
    for kind in kinds:
        if kind not in FeedbackKind.values:
            raise InvalidQuery(
                "kind", f"Unknown feedback kind {kind[:40]!r}; use {', '.join(FeedbackKind.values)}"
            )
    flagged = _values(params, "flagged")
    if flagged:
        known = set(
            Check.objects.filter(project=project, name__in=flagged).values_list("name", flat=True)
        )
        unknown = [name for name in flagged if name not in known]
        if unknown:
            raise InvalidQuery("flagged", f"{project.name} has no check named {unknown[0][:80]!r}")
    severity_name = _single(params, "min_severity")
    min_severity = None
    if severity_name:
        try:
            min_severity = int(Severity.from_name(severity_name.lower()))
        except ValueError:
            names = ", ".join(str(s.label) for s in Severity)
            raise InvalidQuery(
                "min_severity", f"Unknown severity {severity_name[:40]!r}; use {names}"
            ) from None
    queue_raw = _single(params, "queue")
    queue_id = None
    if queue_raw:
        if not queue_raw.isdigit() or len(queue_raw) > 18:
            raise InvalidQuery("queue", f"`queue` is a queue id, not {queue_raw[:40]!r}")
        queue_id = int(queue_raw)
        if not Queue.objects.filter(project=project, pk=queue_id).exists():
            raise InvalidQuery("queue", f"{project.name} has no queue {queue_id}")
    queue_states = _values(params, "queue_state")
    for state in queue_states:
        if state not in ItemState.values:
            raise InvalidQuery(
                "queue_state",
                f"Unknown item state {state[:40]!r}; use {', '.join(ItemState.values)}",
            )
    metadata: list[tuple[str, str]] = []
    for pair in params.get("metadata", ()):
        if not pair.strip():
            continue
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key or len(key) > 200:
            raise InvalidQuery(
                "metadata", f"`metadata` is key=value (e.g. plan=pro), not {pair[:60]!r}"
            )
        metadata.append((key, value))
    if len(metadata) > MAX_METADATA_FILTERS:
        raise InvalidQuery("metadata", f"At most {MAX_METADATA_FILTERS} metadata filters")
    text = _single(params, "q")
    if len(text) > MAX_TEXT:
        raise InvalidQuery("q", f"The search text is {len(text)} characters; at most {MAX_TEXT}")
    if text and not any(ch.isalnum() for ch in text):
        raise InvalidQuery("q", "The search text has no word to look for; send letters or digits")
    return ExplorerQuery(
        since=since,
        until=until,
        slices=slices,
        rating_min=rating_min,
        rating_max=rating_max,
        kinds=kinds,
        reasons=_values(params, "reason"),
        flagged=flagged,
        min_severity=min_severity,
        queue_id=queue_id,
        queue_states=queue_states,
        metadata=tuple(metadata),
        negative=_flag(params, "negative"),
        reviewed_bad=_flag(params, "reviewed_bad"),
        text=text,
        after=cursor_decode(_single(params, "after")),
    )


# -- reading ---------------------------------------------------------------------------------------


class _Document(Expression):
    """The text-search document of an interaction, spelled as the index spells it."""

    output_field = SearchVectorField()

    # Django's lookups add a list of parameters to the ones returned here (the stubs say tuple).
    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, list[Any]]:
        table = compiler.quote_name_unless_alias(Interaction._meta.db_table)
        return DOCUMENT_SQL.format(table=table), []


def _labels_contain(labels: Sequence[str]) -> Q:
    """Label feedback naming any of `labels`: jsonb containment, or the JSON text on SQLite."""
    match = Q()
    for label in labels:
        if connection.vendor == "postgresql":
            match |= Q(labels__contains=[label])
        else:
            match |= Q(labels_text__contains=json.dumps(label))
    return Q(kind=FeedbackKind.LABEL) & match


def _feedback() -> QuerySet[Feedback]:
    feedback = Feedback.objects.filter(interaction_id=OuterRef("pk"))
    if connection.vendor != "postgresql":
        feedback = feedback.alias(labels_text=Cast("labels", TextField()))
    return feedback


def _text_filter(interactions: QuerySet[Interaction], text: str) -> QuerySet[Interaction]:
    if connection.vendor == "postgresql":
        return interactions.alias(document=_Document()).filter(
            document=SearchQuery(text, config="simple", search_type="plain")
        )
    interactions = interactions.alias(messages_text=Cast("messages", TextField()))
    for word in text.split():
        interactions = interactions.filter(
            Q(response__icontains=word) | Q(messages_text__icontains=word)
        )
    return interactions


def _reviewed_bad_ids(project: Project, query: ExplorerQuery) -> set[int]:
    """Interactions with a settled review whose final verdict is negative (review/settle.py)."""
    items = QueueItem.objects.filter(queue__project=project, state=ItemState.DONE)
    if query.since is not None:
        items = items.filter(interaction__timestamp__gte=query.since)
    if query.until is not None:
        items = items.filter(interaction__timestamp__lt=query.until)
    rows = list(items.values_list("pk", "queue_id", "interaction_id"))
    if not rows:
        return set()
    ids = [row[0] for row in rows]
    answers: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for item_id, values in (
        Annotation.objects.filter(item_id__in=ids)
        .order_by("item_id", "pk")
        .values_list("item_id", "values")
        .iterator(chunk_size=5000)
    ):
        if isinstance(values, dict):
            answers[item_id].append(values)
    adjudicated = {
        item_id: values
        for item_id, values in Adjudication.objects.filter(item_id__in=ids).values_list(
            "item_id", "values"
        )
        if isinstance(values, dict)
    }
    roles = {
        pk: schema_roles(schema or {})
        for pk, schema in Queue.objects.filter(project=project).values_list("pk", "schema")
    }
    bad: set[int] = set()
    for item_id, queue_id, interaction_id in rows:
        role = roles[queue_id]
        if role.verdict is None:
            continue
        outcome = settle(role, answers.get(item_id, []), adjudicated.get(item_id))
        if outcome.settled and is_negative(outcome.verdict(role)):
            bad.add(interaction_id)
    return bad


def explorer_interactions(*, project: Project, query: ExplorerQuery) -> QuerySet[Interaction]:
    """The project's interactions matching `query` (every filter at once), unordered, unpaged."""
    found = Interaction.objects.filter(project=project)
    if query.since is not None:
        found = found.filter(timestamp__gte=query.since)
    if query.until is not None:
        found = found.filter(timestamp__lt=query.until)
    for dimension, values in query.slices.values.items():
        found = found.filter(**{f"{dimension}__in": values})
    if query.rating_min is not None or query.rating_max is not None:
        ratings = _feedback().filter(kind=FeedbackKind.RATING, normalized_score__isnull=False)
        if query.rating_min is not None:
            ratings = ratings.filter(normalized_score__gte=query.rating_min)
        if query.rating_max is not None:
            ratings = ratings.filter(normalized_score__lte=query.rating_max)
        found = found.filter(Exists(ratings))
    if query.kinds:
        found = found.filter(Exists(_feedback().filter(kind__in=query.kinds)))
    if query.reasons:
        found = found.filter(Exists(_feedback().filter(_labels_contain(query.reasons))))
    if query.negative:
        negative = Q(kind=FeedbackKind.RATING, normalized_score__lte=NEGATIVE_RATING)
        if project.negative_label_names:
            negative |= _labels_contain(project.negative_label_names)
        found = found.filter(Exists(_feedback().filter(negative)))
    if query.flagged or query.min_severity is not None:
        flags = Flag.objects.filter(interaction_id=OuterRef("pk"), flagged=True)
        if query.flagged:
            flags = flags.filter(
                check_config__project=project, check_config__name__in=query.flagged
            )
        if query.min_severity is not None:
            flags = flags.filter(severity__gte=query.min_severity)
        found = found.filter(Exists(flags))
    if query.queue_id is not None or query.queue_states:
        items = QueueItem.objects.filter(interaction_id=OuterRef("pk"), queue__project=project)
        if query.queue_id is not None:
            items = items.filter(queue_id=query.queue_id)
        if query.queue_states:
            items = items.filter(state__in=query.queue_states)
        found = found.filter(Exists(items))
    for key, value in query.metadata:
        # Compared as text: plan=pro matches "pro", tier=3 matches 3 and "3".
        name = f"meta_{len(found.query.annotations)}"
        value_text: Expression = Cast(KeyTextTransform(key, "metadata"), TextField())
        found = found.alias(**{name: value_text}).filter(**{name: value})
    if query.reviewed_bad:
        found = found.filter(pk__in=_reviewed_bad_ids(project, query))
    if query.text:
        found = _text_filter(found, query.text)
    return found


@dataclass(frozen=True)
class ExplorerPage:
    rows: list[Interaction]
    # The cursor of the next (older) page, or None on the last one.
    next_cursor: str | None


def _newest_first(found: QuerySet[Interaction], after: tuple[datetime, int] | None) -> Any:
    if after is not None:
        timestamp, pk = after
        # The redundant `timestamp <= t` is what the (project, timestamp) index can seek to: with
        # the OR alone, a deep page would scan every newer row first, as an OFFSET does.
        found = found.filter(
            Q(timestamp__lt=timestamp) | Q(timestamp=timestamp, pk__lt=pk),
            timestamp__lte=timestamp,
        )
    return found.order_by("-timestamp", "-pk")


def explorer_page(
    *, project: Project, query: ExplorerQuery, limit: int = PAGE_SIZE
) -> ExplorerPage:
    """One page of matches, newest first, after `query.after`, with their flags."""
    found = _newest_first(explorer_interactions(project=project, query=query), query.after)
    flags = (
        Flag.objects.filter(flagged=True).select_related("check_config").order_by("-severity", "id")
    )
    rows = list(
        found.only(
            "pk",
            "request_id",
            "timestamp",
            "model",
            "model_version",
            "prompt_template",
            "prompt_template_version",
            "experiment",
            "variant",
            "project_id",
        )
        # The start of the response is all a row shows; a long one stays in the database.
        .annotate(excerpt=Left("response", EXCERPT_CHARS))
        .prefetch_related(Prefetch("flags", queryset=flags))[: limit + 1]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    return ExplorerPage(
        rows=rows,
        next_cursor=cursor_encode((last.timestamp, last.pk)) if more and last else None,
    )


def explorer_ids(
    *, project: Project, query: ExplorerQuery, limit: int = MAX_SELECTION
) -> list[int]:
    """The ids of the newest `limit` matches (the "all matching" selection)."""
    found = _newest_first(explorer_interactions(project=project, query=query), None)
    return list(found.values_list("pk", flat=True)[:limit])


def explorer_queues(project: Project) -> list[Queue]:
    """The project's queues by name (archived ones too: their items can still be filtered)."""
    return list(Queue.objects.filter(project=project).order_by("name"))


def explorer_checks(project: Project) -> list[str]:
    return list(
        Check.objects.filter(project=project).order_by("name").values_list("name", flat=True)
    )


__all__ = [
    "MAX_SELECTION",
    "PAGE_SIZE",
    "ExplorerPage",
    "ExplorerQuery",
    "InvalidQuery",
    "explorer_ids",
    "explorer_interactions",
    "explorer_page",
    "explorer_query_parse",
]
