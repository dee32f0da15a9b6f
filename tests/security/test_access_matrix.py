"""Every URL x every kind of caller, with the answer each must get.

The URL list comes from the URL conf (pages, API and the admin's changelists), so a URL added
without a row in EXPECTED fails `test_every_url_has_an_entry`. Each row names who may use the
URL; the expected answers for everyone else follow the access rules of `selectors.access`:

- anonymous callers are sent to log in (pages: 302 to the login page; API: 401);
- ingestion keys reach only the ingestion endpoints (elsewhere as anonymous);
- members of the project without the role get 403, except annotators not assigned to a queue,
  for whom the queue does not exist (404);
- people outside the project (another project's lead, a user of no project) get 404.

"Allowed" means the request got past access: any answer but 401, 403, 404 or a login redirect
(an empty POST answers 400 or redirects back to a form, which is fine here).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from annotation.models import (
    AgreementReport,
    Annotation,
    ApiToken,
    Export,
    JobStatus,
    Project,
    ProjectKey,
    QueueFill,
    Role,
)
from annotation.models.review import Guideline, ItemState
from annotation.services.projects import api_token_create, member_upsert, project_create
from tests.factories import CheckFactory, InteractionFactory, QueueItemFactory, UserFactory
from tests.review.conftest import make_queue

ROLES = (
    "anonymous",
    "key",
    "outsider",
    "other_lead",
    "annotator_unassigned",
    "annotator",
    "engineer",
    "lead",
)

# -- who may use each URL ------------------------------------------------------------------------
# A policy names the roles allowed; `queue` policies hide the queue from unassigned annotators.

PUBLIC = "public"  # everyone, signed in or not
PERSON = "person"  # any signed-in person (their own things)
KEY = "key"  # ingestion keys only
KEY_OR_READER = "key_or_reader"  # the project's key, or its leads and engineers
LEAD = "project:lead"
READER = "project:lead,engineer"
MEMBER = "project:lead,engineer,annotator,annotator_unassigned"
QUEUE_LEAD = "queue:lead"
QUEUE_READER = "queue:lead,engineer"
QUEUE_MEMBER = "queue:lead,engineer,annotator"
QUEUE_WORKER = "queue:annotator"  # the assigned annotator's own work
ITEM_LEAD = "item:lead"  # an item of a queue, for the project's leads
ITEM_WORKER = "item:annotator"  # an item of that queue: other members are told to ask a lead
ANY_READER = "any:lead,engineer,other_lead"  # leads and engineers of any project
ANY_LEAD = "any:lead,other_lead"  # leads of any project
SSO_OFF = "sso_off"  # single sign-on URLs, which answer 404 while OIDC is not configured
WIDGET = "widget"  # only with a widget key from an allowed origin (none here): 401 for everyone
SIGNED = "signed"  # only with a valid signature in the URL (none here): 403 for everyone
OWN_ANNOTATION = "own:annotator"  # the annotation's author
OWN_TOKEN = "own:lead"  # the token's owner (the lead holds it)
STAFF_LEAD = "admin:lead"  # the admin, scoped to the projects a lead leads

EXPECTED: dict[str, str] = {
    # accounts
    "login": PUBLIC,
    "logout": PUBLIC,
    "password_change": PERSON,
    "password_change_done": PERSON,
    "password_reset": PUBLIC,
    "password_reset_done": PUBLIC,
    "password_reset_confirm": PUBLIC,
    "password_reset_complete": PUBLIC,
    "oidc_authentication_callback": SSO_OFF,
    "oidc_authentication_init": SSO_OFF,
    "oidc_logout": PUBLIC,
    "account-tokens": PERSON,
    "account-token-create": PERSON,
    "account-token-revoke": OWN_TOKEN,
    "account-token-rotate": OWN_TOKEN,
    "form-rescue": PERSON,
    # ingestion
    "api-interactions": KEY,
    "api-feedback": KEY,
    "api-otlp-traces": KEY,
    "api-widget-config": WIDGET,
    "api-widget-feedback": WIDGET,
    "api-interaction-detail": KEY_OR_READER,
    # API, project level
    "api-metrics-timeseries": READER,
    "api-metrics-compare": READER,
    "api-insights-slices": READER,
    "api-insights-themes": READER,
    "api-insights-templates": READER,
    "api-insights-retrieval": READER,
    "api-insights-signals": READER,
    "api-checks": PERSON,
    "api-check-detail": READER,
    "api-check-report": READER,
    "api-guidelines": MEMBER,
    "api-queues": PERSON,
    "api-exports": READER,
    "api-export-detail": READER,
    "api-export-download": READER,
    "api-export-link-download": SIGNED,
    "api-export-preview": READER,
    "api-export-presets": READER,
    "api-export-preset": READER,
    "api-privacy-erase": LEAD,
    "api-privacy-settings": LEAD,
    "api-alert-rules": READER,
    "api-alert-rule-detail": READER,
    "api-alerts": READER,
    "api-alert-detail": READER,
    "api-alert-series": READER,
    "api-webhooks": READER,
    "api-webhook-detail": READER,
    "api-webhook-deliveries": READER,
    "api-webhook-redeliver": LEAD,
    "api-triggers": READER,
    "api-trigger-detail": READER,
    "api-trigger-runs": READER,
    "api-audit": LEAD,
    "api-keys": LEAD,
    "api-key-revoke": LEAD,
    "api-key-rotate": LEAD,
    "api-tokens": PERSON,
    "api-token-revoke": OWN_TOKEN,
    "api-token-rotate": OWN_TOKEN,
    # API, queue level
    "api-queue-detail": QUEUE_MEMBER,
    "api-queue-fill": QUEUE_LEAD,
    "api-queue-fill-preview": QUEUE_READER,
    "api-queue-fill-detail": QUEUE_READER,
    "api-queue-stats": QUEUE_READER,
    "api-queue-next": ITEM_WORKER,
    "api-item-annotate": ITEM_WORKER,
    "api-item-skip": ITEM_WORKER,
    "api-item-adjudicate": ITEM_LEAD,
    "api-annotation": OWN_ANNOTATION,
    "api-queue-agreement": QUEUE_LEAD,
    "api-agreement": LEAD,
    "schema": PUBLIC,
    "api-docs": PUBLIC,
    # pages
    "home": PERSON,
    "queue-work": QUEUE_MEMBER,
    "item-submit": QUEUE_MEMBER,
    "item-skip": QUEUE_WORKER,
    "item-skip-undo": QUEUE_WORKER,
    "my-annotations": QUEUE_MEMBER,
    "annotation-edit": OWN_ANNOTATION,
    "lead-agreement": QUEUE_LEAD,
    "lead-adjudication": QUEUE_LEAD,
    "lead-adjudicate": QUEUE_LEAD,
    "lead-hub": ANY_LEAD,
    "lead-queue-new": LEAD,
    "lead-queue-new-preview": LEAD,
    "lead-queue-edit": QUEUE_LEAD,
    "lead-queue-preview": QUEUE_LEAD,
    "lead-queue-pause": QUEUE_LEAD,
    "lead-queue-resume": QUEUE_LEAD,
    "lead-queue-fill": QUEUE_LEAD,
    "lead-queue-fill-status": QUEUE_LEAD,
    "lead-queue-progress": QUEUE_LEAD,
    "lead-queue-items": QUEUE_LEAD,
    "lead-guidelines": LEAD,
    "lead-guideline-preview": LEAD,
    "lead-guideline-version": LEAD,
    "lead-schema-preview": LEAD,
    "lead-audit": LEAD,
    "lead-keys": LEAD,
    "lead-key-create": LEAD,
    "lead-key-revoke": LEAD,
    "lead-key-rotate": LEAD,
    "lead-privacy": LEAD,
    "lead-privacy-runs": LEAD,
    "lead-members": LEAD,
    "lead-member-role": LEAD,
    "lead-member-remove": LEAD,
    "lead-checks": LEAD,
    "lead-check-new": LEAD,
    "lead-check-edit": LEAD,
    "lead-check-toggle": LEAD,
    "lead-alerts": READER,
    "lead-alert-rule-new": LEAD,
    "lead-alert-rule-edit": LEAD,
    "lead-alert-rule-delete": LEAD,
    "lead-alert-detail": READER,
    "lead-webhooks": LEAD,
    "lead-webhook-redeliver": LEAD,
    "exports": ANY_READER,
    "export-detail": READER,
    "export-manifest": READER,
    "export-preview": ANY_READER,
    "export-preset-create": ANY_READER,
    "export-preset-delete": LEAD,
    "insights-explorer": READER,
    "insights-interaction": READER,
    "insights-explorer-send": LEAD,
    "insights-overview": READER,
    "insights-compare": READER,
    "insights-slices": READER,
    "insights-themes": READER,
    "insights-templates": READER,
    "insights-retrieval": READER,
    "insights-signals": READER,
    "insights-report-request": READER,
}


@dataclass
class Route:
    name: str
    route: str
    params: tuple[str, ...]
    admin: bool = False


def _walk(resolver: URLResolver, prefix: str = "", namespace: str | None = None) -> Iterator[Route]:
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue
            yield from _walk(pattern, prefix + str(pattern.pattern), pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield Route(name, prefix + str(pattern.pattern), tuple(pattern.pattern.converters))


def routes() -> list[Route]:
    seen: dict[str, Route] = {}
    for route in _walk(get_resolver()):
        seen.setdefault(route.name, route)
    return sorted(seen.values(), key=lambda r: r.name)


def admin_changelists() -> list[str]:
    return sorted(
        f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
        for model in admin.site._registry
        if model._meta.app_label == "annotation"
    )


# -- the world every request is made in ----------------------------------------------------------


@dataclass
class World:
    project: Project
    key: str
    people: dict[str, Any]
    kwargs: dict[str, Any]
    tokens: dict[str, str]


def _world() -> World:
    created = project_create(name="support-bot")
    project, key = created.obj.project, created.secret
    other = project_create(name="other-bot").obj.project
    people: dict[str, Any] = {}
    tokens: dict[str, str] = {}
    for role_name, where, role in (
        ("lead", project, Role.LEAD),
        ("engineer", project, Role.ENGINEER),
        ("annotator", project, Role.ANNOTATOR),
        ("annotator_unassigned", project, Role.ANNOTATOR),
        ("other_lead", other, Role.LEAD),
    ):
        member = member_upsert(
            username=role_name, project=where, role=role, password="pw-0123456789"
        )
        people[role_name], tokens[role_name] = member.obj.user, member.secret
    outsider = UserFactory(username="outsider")
    people["outsider"] = outsider
    tokens["outsider"] = api_token_create(user=outsider).secret

    from tests.conftest import Persona

    queue = make_queue(project, [Persona(people["annotator"], tokens["annotator"])], overlap=1)
    interaction = InteractionFactory(project=project)
    item = QueueItemFactory(queue=queue, interaction=interaction)
    annotation = Annotation.objects.create(
        item=item,
        annotator=people["annotator"],
        values={"verdict": "good"},
        created_at=timezone.now(),
        updated_at=timezone.now(),
        guideline=Guideline.objects.filter(project=project).first(),
    )
    item.state = ItemState.DONE
    item.save(update_fields=["state"])
    fill = QueueFill.objects.create(queue=queue)
    check = CheckFactory(project=project)
    Guideline.objects.get_or_create(project=project, version=1, defaults={"text": "Be fair."})
    report = AgreementReport.objects.create(queue=queue)
    export = Export.objects.create(
        project=project,
        kind="sft",
        format="jsonl",
        status=JobStatus.DONE,
        created_by=people["lead"],
    )
    kwargs: dict[str, Any] = {
        "name": project.name,
        "queue_id": queue.pk,
        "item_id": item.pk,
        "annotation_id": annotation.pk,
        "fill_id": fill.pk,
        "check_id": check.pk,
        "report_id": report.pk,
        "export_id": export.pk,
        "version": 1,
        "pk": interaction.pk,
        "request_id": interaction.request_id,
        "kind": "slices",
        "user_id": people["annotator"].pk,
        "key_id": ProjectKey.objects.filter(project=project).values_list("pk", flat=True)[0],
        "token_id": ApiToken.objects.filter(user=people["lead"]).values_list("pk", flat=True)[0],
        "uidb64": "MQ",
        "token": "set-password",
    }
    kwargs.update(_action_objects(project, people["lead"], export))
    return World(project=project, key=key, people=people, kwargs=kwargs, tokens=tokens)


def _action_objects(project: Project, lead: Any, export: Export) -> dict[str, int]:
    """Alert rules, alerts, webhooks, deliveries, triggers and presets of the project."""
    from annotation.models.actions import Trigger, Webhook, WebhookDelivery
    from annotation.models.alerts import Alert, AlertRule
    from annotation.models.export_presets import ExportPreset

    webhook = Webhook.objects.create(
        project=project, name="ci", url="https://ci.example.com/hook", secret_sealed="x"
    )
    delivery = WebhookDelivery.objects.create(webhook=webhook, event="alert.fired")
    trigger = Trigger.objects.create(project=project, name="nightly", export_request={})
    rule = AlertRule.objects.create(
        project=project, name="spike", metric="volume", condition_value=100
    )
    fired = timezone.now() - timedelta(minutes=5)
    alert = Alert.objects.create(
        rule=rule, fired_at=fired, window_start=fired - timedelta(hours=1), window_end=fired
    )
    preset = ExportPreset.objects.create(project=project, name="sft", request={}, created_by=lead)
    return {
        "webhook_id": webhook.pk,
        "delivery_id": delivery.pk,
        "trigger_id": trigger.pk,
        "rule_id": rule.pk,
        "alert_id": alert.pk,
        "preset_id": preset.pk,
    }


# -- asking --------------------------------------------------------------------------------------


def _client(world: World, role: str, *, api: bool) -> Client:
    if role == "anonymous":
        return APIClient() if api else Client()
    if role == "key":
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.key}")
        return client
    if api:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[role]}")
        return client
    page_client = Client()
    page_client.force_login(world.people[role])
    return page_client


def _ask(client: Client, url: str, *, project: str, api: bool) -> tuple[str, int]:
    """The first method the URL answers (not 405), with the project named as the API expects."""
    response = None
    for method in ("get", "post", "patch", "put", "delete"):
        if api and method == "get":
            response = client.get(url, {"project": project})
        elif api:
            response = getattr(client, method)(url, {"project": project}, format="json")
        elif method == "get":
            response = client.get(url, {"project": project})
        else:
            response = getattr(client, method)(f"{url}?project={project}", {"project": project})
        if response.status_code != 405:
            break
    assert response is not None
    status = response.status_code
    if status in (301, 302) and "login" in response.get("Location", ""):
        return method.upper(), -1
    return method.upper(), status


def expected(policy: str, role: str, *, api: bool) -> str:
    """'ok', 'login', '403' or '404' for `role` under `policy`."""
    login = "login"
    if policy == PUBLIC:
        return "public"
    if policy == SSO_OFF:
        return "404"
    if policy == SIGNED:
        return "403"
    if policy == WIDGET:
        return login
    if policy == KEY:
        return "ok" if role == "key" else login
    if role == "anonymous" or (role == "key" and policy != KEY_OR_READER):
        return login
    if policy == KEY_OR_READER:
        if role in ("key", "lead", "engineer"):
            return "ok"
        return "403" if role == "annotator_unassigned" else "404" if role != "annotator" else "ok"
    if policy == PERSON:
        return "ok"
    kind, _, allowed_names = policy.partition(":")
    allowed = set(allowed_names.split(","))
    if role in allowed:
        return "ok"
    if kind == "admin":
        return login
    if kind == "any":
        return "403"
    if role in ("outsider", "other_lead"):
        return "404"
    if kind == "own":
        return "404"
    if kind == "queue" and role == "annotator_unassigned":
        return "404"
    return "403"


def _matches(want: str, got: int) -> bool:
    if want == "public":
        return got not in (401, 403, 404)
    if want == "login":
        return got in (-1, 401)
    if want == "ok":
        return got not in (-1, 401, 403, 404)
    return str(got) == want


# -- the tests -----------------------------------------------------------------------------------


def test_every_url_has_an_entry() -> None:
    missing = [r.name for r in routes() if r.name not in EXPECTED]
    assert not missing, f"Add these URLs to EXPECTED with who may use them: {missing}"
    stale = sorted(set(EXPECTED) - {r.name for r in routes()})
    assert not stale, f"These entries name no URL any more: {stale}"


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    """One world for the module, rolled back at its end; each request is rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _world()
        transaction.set_rollback(True)


def _ask_as(world: World, role: str, url: str, *, api: bool) -> tuple[str, int]:
    # Each role asks in the world as it was: what one request changed must not decide the next.
    cache.clear()
    with transaction.atomic():
        answer = _ask(_client(world, role, api=api), url, project=world.project.name, api=api)
        transaction.set_rollback(True)
    return answer


@pytest.mark.django_db
@pytest.mark.parametrize("route", routes(), ids=lambda r: r.name)
def test_each_caller_gets_the_answer_of_their_role(
    route: Route, world: World, settings: Any
) -> None:
    settings.SECURE_SSL_REDIRECT = False
    api = route.route.startswith("api/")
    policy = EXPECTED[route.name]
    url = reverse(route.name, kwargs={p: world.kwargs[p] for p in route.params})
    failures = []
    for role in ROLES:
        method, got = _ask_as(world, role, url, api=api)
        want = expected(policy, role, api=api)
        if not _matches(want, got):
            failures.append(f"{role}: {method} {url} answered {got}, expected {want}")
    assert not failures, "\n".join(failures)


def _touches(obj: Any, project_id: int) -> bool:
    """Whether an admin row belongs to the project (directly or through its queue or rule)."""
    if isinstance(obj, Project):
        return bool(obj.pk == project_id)
    for path in (
        "project_id",
        "queue.project_id",
        "item.queue.project_id",
        "rule.project_id",
        "webhook.project_id",
        "trigger.project_id",
    ):
        value: Any = obj
        for part in path.split("."):
            value = getattr(value, part, None)
        if value == project_id:
            return True
    return False


@pytest.mark.django_db
@pytest.mark.parametrize("name", admin_changelists())
def test_admin_changelists_show_a_lead_only_their_projects(
    name: str, world: World, settings: Any
) -> None:
    """Staff leads reach the admin, each seeing only the rows of projects they lead."""
    settings.SECURE_SSL_REDIRECT = False
    for role in ROLES:
        cache.clear()
        with transaction.atomic():
            response = _client(world, role, api=False).get(reverse(name))
            rows = list(response.context_data["cl"].queryset) if response.status_code == 200 else []
            leaked = [row for row in rows if _touches(row, world.project.pk)]
            transaction.set_rollback(True)
        if role in ("lead", "other_lead"):
            assert response.status_code in (200, 403), (role, name, response.status_code)
            if role == "other_lead":
                assert not leaked, (name, leaked)
        else:
            assert response.status_code == 302, (role, name, response.status_code)
            assert "/admin/login/" in response["Location"]
