"""HTTP conventions of every page in annotation/urls.py: wrong verbs get 405, and a page that
answers htmx with a partial varies on HX-Request.

The table is checked against the URL conf: a new page without an entry fails here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, reverse
from django.utils import timezone

from annotation import urls as page_urls
from annotation.models import (
    Annotation,
    Export,
    ExportKind,
    Guideline,
    JobStatus,
    Project,
    Queue,
    QueueItem,
)
from annotation.models.review import FillTrigger, QueueFill
from tests.conftest import Persona
from tests.factories import GuidelineFactory, InteractionFactory, QueueItemFactory
from tests.review.conftest import make_queue

VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Page:
    methods: frozenset[str]
    htmx: bool  # answers an htmx request with a partial of the same page
    query: str = ""


def page(*methods: str, htmx: bool = True, query: str = "") -> Page:
    return Page(frozenset(methods), htmx, query)


PAGES: dict[str, Page] = {
    "home": page("GET", htmx=False),
    "queue-work": page("GET", "POST"),
    "item-submit": page("POST"),
    "item-skip": page("POST"),
    "item-skip-undo": page("POST"),
    "my-annotations": page("GET"),
    "annotation-edit": page("GET", "POST"),
    "lead-agreement": page("GET", "POST"),
    "lead-adjudication": page("GET"),
    "lead-adjudicate": page("GET", "POST"),
    "lead-hub": page("GET"),
    "lead-queue-new": page("GET", "POST", query="?project=support-bot"),
    "lead-queue-new-preview": page("POST", query="?project=support-bot"),
    "lead-queue-edit": page("GET", "POST"),
    "lead-queue-preview": page("POST"),
    "lead-queue-pause": page("POST"),
    "lead-queue-resume": page("POST"),
    "lead-queue-fill": page("POST"),
    "lead-queue-fill-status": page("GET"),
    "lead-queue-progress": page("GET"),
    "lead-guidelines": page("GET", "POST"),
    "lead-guideline-preview": page("POST"),
    "lead-guideline-version": page("GET"),
    "lead-privacy": page("GET", "POST"),
    "lead-privacy-runs": page("GET"),
    "exports": page("GET", "POST"),
    "export-detail": page("GET"),
    "export-manifest": page("GET", htmx=False),
    "insights-explorer": page("GET"),
    "insights-interaction": page("GET"),
    "insights-explorer-send": page("POST"),
    "insights-overview": page("GET"),
    "insights-compare": page("GET"),
    "insights-slices": page("GET"),
    "insights-themes": page("GET"),
    "insights-templates": page("GET"),
    "insights-retrieval": page("GET"),
    "insights-signals": page("GET"),
    "insights-report-request": page("POST"),
    "lead-webhooks": page("GET"),
    "lead-webhook-redeliver": page("POST"),
    "export-preview": page("POST"),
    "export-preset-create": page("POST"),
    "export-preset-delete": page("POST"),
    "lead-members": page("GET", "POST"),
    "lead-member-role": page("POST"),
    "lead-member-remove": page("POST"),
    "lead-checks": page("GET"),
    "lead-check-new": page("GET", "POST"),
    "lead-check-edit": page("GET", "POST"),
    "lead-check-toggle": page("POST"),
    "lead-queue-items": page("GET"),
    "lead-schema-preview": page("POST"),
    "lead-audit": page("GET"),
    "lead-keys": page("GET"),
    "lead-key-create": page("POST"),
    "lead-key-revoke": page("POST"),
    "lead-key-rotate": page("POST"),
    "account-tokens": page("GET"),
    "account-token-create": page("POST"),
    "account-token-revoke": page("POST"),
    "account-token-rotate": page("POST"),
    "form-rescue": page("GET"),
    "lead-alerts": page("GET"),
    "lead-alert-rule-new": page("GET", "POST"),
    "lead-alert-rule-edit": page("GET", "POST"),
    "lead-alert-rule-delete": page("POST"),
    "lead-alert-detail": page("GET"),
}


def _names() -> list[str]:
    return [p.name for p in page_urls.urlpatterns if isinstance(p, URLPattern) and p.name]


def _pattern(name: str) -> URLPattern:
    return next(p for p in page_urls.urlpatterns if isinstance(p, URLPattern) and p.name == name)


@dataclass
class World:
    client: Client
    kwargs: dict[str, Any]


@pytest.fixture
def world(project: Project, lead: Persona) -> World:
    """One of everything the pages name, all the lead's (who also works the queue)."""
    GuidelineFactory(project=project, version=1, text="# Rules")
    queue: Queue = make_queue(project, [lead], name="Weekly review", overlap=1)
    item: QueueItem = QueueItemFactory(
        queue=queue, interaction=InteractionFactory(project=project), priority=1
    )
    now = timezone.now()
    annotation = Annotation.objects.create(
        item=item, annotator=lead.user, values={}, created_at=now, updated_at=now
    )
    fill = QueueFill.objects.create(queue=queue, trigger=FillTrigger.MANUAL)
    export = Export.objects.create(
        project=project, kind=ExportKind.ANNOTATIONS, status=JobStatus.DONE, created_by=lead.user
    )
    client = Client()
    client.force_login(lead.user)
    version = Guideline.objects.filter(project=project).order_by("-version").first()
    assert version is not None
    return World(
        client,
        {
            "queue_id": queue.pk,
            "item_id": item.pk,
            "annotation_id": annotation.pk,
            "fill_id": fill.pk,
            "export_id": export.pk,
            "name": project.name,
            "version": version.version,
            "pk": item.interaction_id,
            "kind": "themes",
            "delivery_id": _failed_delivery(project),
            **_lead_tool_objects(project, lead),
        },
    )


def _lead_tool_objects(project: Project, lead: Persona) -> dict[str, int]:
    """A preset, a check and a member (the lead: the last one, so removing them is refused)."""
    from annotation.models import Check, ExportPreset

    preset = ExportPreset.objects.create(project=project, name="p", request={"kind": "sft"})
    check = Check.objects.filter(project=project).first()
    assert check is not None
    return {
        "preset_id": preset.pk,
        "check_id": check.pk,
        "user_id": lead.user.pk,
        **_credentials_and_alerts(project, lead),
    }


def _credentials_and_alerts(project: Project, lead: Persona) -> dict[str, int]:
    """The project's key, the lead's token, and an alert rule that fired."""
    from annotation.models import Alert, AlertRule, ApiToken, ProjectKey

    now = timezone.now()
    rule = AlertRule.objects.create(
        project=project, name="spike", metric="volume", condition_value=100
    )
    return {
        "key_id": ProjectKey.objects.filter(project=project).values_list("pk", flat=True)[0],
        "token_id": ApiToken.objects.filter(user=lead.user).values_list("pk", flat=True)[0],
        "rule_id": rule.pk,
        "alert_id": Alert.objects.create(
            rule=rule, fired_at=now, window_start=now - timedelta(hours=1), window_end=now
        ).pk,
    }


def _failed_delivery(project: Project) -> int:
    from annotation.models import Webhook, WebhookDelivery

    webhook = Webhook.objects.create(project=project, name="ci", url="https://ci.example.com/h")
    return WebhookDelivery.objects.create(webhook=webhook, event="alert.fired", status="failed").pk


def _url(world: World, name: str) -> str:
    wanted = _pattern(name).pattern.converters  # type: ignore[attr-defined]
    url = reverse(name, kwargs={key: world.kwargs[key] for key in wanted})
    return url + PAGES[name].query


def _call(client: Client, method: str, url: str, **headers: Any) -> Any:
    return getattr(client, method.lower())(url, **headers)


def test_every_page_url_has_an_entry() -> None:
    missing = [name for name in _names() if name not in PAGES]

    assert missing == [], f"add these pages to PAGES in {__file__}: {missing}"


@pytest.mark.parametrize("name", _names())
def test_it_answers_a_wrong_verb_with_405(world: World, name: str) -> None:
    allowed = PAGES[name].methods
    url = _url(world, name)

    answers = {
        verb: _call(world.client, verb, url).status_code for verb in VERBS if verb not in allowed
    }

    assert answers == {verb: 405 for verb in answers}


@pytest.mark.parametrize("name", [name for name in _names() if PAGES.get(name, page()).htmx])
def test_it_varies_a_page_answering_htmx_on_hx_request(world: World, name: str) -> None:
    method = "GET" if "GET" in PAGES[name].methods else "POST"
    url = _url(world, name)

    full = _call(world.client, method, url)
    partial = _call(world.client, method, url, HTTP_HX_REQUEST="true")

    for response in (full, partial):
        assert response.status_code < 500
        assert "HX-Request" in response.get("Vary", ""), (method, response.status_code)
