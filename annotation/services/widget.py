"""The embeddable feedback widget: public keys that only write end users' feedback."""

from __future__ import annotations

from django.core.cache import cache
from django.utils import timezone

from annotation.models import KeyScope, Project, ProjectKey
from annotation.origins import origins_normalise
from annotation.schemas.decoding import DecodedBatch, RowError
from annotation.schemas.ingestion import (
    CommentIn,
    CorrectionIn,
    FeedbackIn,
    ImplicitIn,
    RatingIn,
)
from annotation.services.ingestion import FeedbackResult, feedback_check_taxonomy, feedback_ingest
from annotation.services.projects import Created, project_key_create

WIDGET_MAX_TEXT = 5_000
WIDGET_EVENTS = ("copy",)
_ORIGINS_CACHE_KEY = "widget:origins"


class WidgetRefused(Exception):
    """A widget request refused as a whole; `field` names what to fix."""

    def __init__(self, code: str, message: str, *, field: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status


def widget_key_create(*, project: Project, origins: list[str], name: str = "widget") -> Created:
    """Create a public feedback-only key usable from pages on `origins`; returns it once."""
    allowed = origins_normalise(origins)
    created = project_key_create(project=project, name=name, scope=KeyScope.FEEDBACK)
    ProjectKey.objects.filter(pk=created.obj.pk).update(allowed_origins=allowed)
    created.obj.allowed_origins = allowed
    cache.delete(_ORIGINS_CACHE_KEY)
    return created


def widget_origins_forget() -> None:
    """Drop the cached origins (a widget key was revoked or rotated)."""
    cache.delete(_ORIGINS_CACHE_KEY)


def widget_origins() -> frozenset[str]:
    """Every origin some live widget key allows (CORS pre-flights carry no key to look up)."""
    cached = cache.get(_ORIGINS_CACHE_KEY)
    if cached is None:
        cached = sorted(
            {
                origin
                for origins in ProjectKey.objects.filter(
                    scope=KeyScope.FEEDBACK, revoked_at__isnull=True
                )
                .exclude(expires_at__lte=timezone.now())
                .values_list("allowed_origins", flat=True)
                for origin in origins or []
            }
        )
        cache.set(_ORIGINS_CACHE_KEY, cached, timeout=60)
    return frozenset(cached)


def _widget_rules(row: FeedbackIn) -> RowError | None:
    if isinstance(row, RatingIn) and row.scale != "thumbs":
        return RowError(None, "scale", "The widget sends thumbs ratings only (scale 'thumbs').")
    if isinstance(row, ImplicitIn) and row.event not in WIDGET_EVENTS:
        return RowError(None, "event", f"The widget sends only these events: {WIDGET_EVENTS}.")
    if isinstance(row, CorrectionIn | CommentIn) and len(row.text) > WIDGET_MAX_TEXT:
        return RowError(
            None,
            "text",
            f"The text is {len(row.text)} characters; the widget takes at most {WIDGET_MAX_TEXT}.",
        )
    return None


def widget_feedback_submit(
    *, key: ProjectKey, origin: str | None, batch: DecodedBatch[FeedbackIn]
) -> FeedbackResult:
    """Store one piece of end-user feedback sent by the widget from an allowed origin."""
    if key.scope != KeyScope.FEEDBACK:
        raise WidgetRefused("wrong_key", "Use a widget key here (createwidgetkey).", status=403)
    if not origin or origin.lower() not in (key.allowed_origins or []):
        raise WidgetRefused(
            "origin_not_allowed",
            f"Pages on {origin or 'an unknown origin'} may not use this key; add the origin "
            "to the key's allowed origins.",
            field="Origin",
            status=403,
        )
    if batch.is_batch:
        raise WidgetRefused("one_at_a_time", "The widget sends one piece of feedback per request.")
    batch = feedback_check_taxonomy(project=key.project, batch=batch)
    errors = list(batch.errors)
    for _, row in batch.rows:
        problem = _widget_rules(row)
        if problem is not None:
            errors.append(problem)
    if errors:
        first = errors[0]
        raise WidgetRefused("invalid_feedback", first.message, field=first.field)
    for _, row in batch.rows:
        row.source = "user"
    return feedback_ingest(project=key.project, items=[row for _, row in batch.rows])
