from __future__ import annotations

import json
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.admin import RelatedFieldListFilter
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from annotation.models import (
    Check,
    Feedback,
    Interaction,
    ItemState,
    Membership,
    Project,
    Queue,
    QueueItem,
    Role,
)
from annotation.services.guidelines import guideline_publish
from annotation.services.ingestion import feedback_update
from annotation.services.projects import member_upsert, project_create
from annotation.services.queues import queue_create, queue_fill_now, queue_update
from tests.conftest import KeyedProject, Persona
from tests.factories import (
    REVIEW_SCHEMA,
    CheckFactory,
    FeedbackFactory,
    FlagFactory,
    InteractionFactory,
    QueueItemFactory,
)

PAGES = [
    "/admin/annotation/project/",
    "/admin/annotation/projectkey/",
    "/admin/annotation/membership/",
    "/admin/annotation/interaction/",
    "/admin/annotation/feedback/",
]


def login(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


def test_a_lead_sees_every_model_of_their_project(lead: Persona, project: Any) -> None:
    interaction = InteractionFactory(project=project, request_id="mine-1")
    FeedbackFactory(interaction=interaction)
    client = login(lead)

    for page in PAGES:
        assert client.get(page).status_code == 200, page
    assert b"mine-1" in client.get("/admin/annotation/interaction/").content
    assert client.get(f"/admin/annotation/interaction/{interaction.pk}/change/").status_code == 200


def test_a_lead_does_not_see_other_projects(
    lead: Persona, project: Any, other_keyed_project: KeyedProject
) -> None:
    theirs = InteractionFactory(project=other_keyed_project.project, request_id="theirs-1")
    client = login(lead)

    assert b"theirs-1" not in client.get("/admin/annotation/interaction/").content
    assert client.get(f"/admin/annotation/interaction/{theirs.pk}/change/").status_code == 302


def test_an_annotator_cannot_enter_the_admin(annotator: Persona) -> None:
    response = login(annotator).get("/admin/annotation/interaction/")

    assert response.status_code == 302


def test_a_staff_user_who_leads_nothing_sees_no_models(project: Any) -> None:
    created = member_upsert(username="former", project=project, role=Role.LEAD)
    created.obj.user.memberships.update(role=Role.ANNOTATOR)
    client = Client()
    client.force_login(created.obj.user)

    assert client.get("/admin/annotation/interaction/").status_code == 403


def test_a_lead_reads_every_review_and_export_record(lead: Persona, project: Any) -> None:
    client = login(lead)

    for page in [
        "/admin/annotation/check/",
        "/admin/annotation/flag/",
        "/admin/annotation/guideline/",
        "/admin/annotation/queue/",
        "/admin/annotation/queuefill/",
        "/admin/annotation/queueitem/",
        "/admin/annotation/annotation/",
        "/admin/annotation/lease/",
        "/admin/annotation/adjudication/",
        "/admin/annotation/agreementreport/",
        "/admin/annotation/export/",
        "/admin/annotation/auditevent/",
    ]:
        assert client.get(page).status_code == 200, page


# -- Cross-project scoping -------------------------------------------------------------------------
# `outsider` leads project B (other-bot); `lead` leads project A (support-bot).


class _FormReader(HTMLParser):
    """The values a browser would submit from the admin's change form."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        if tag == "form" and attr.get("id", "").endswith("_form"):
            self._in_form = True
        if not self._in_form or "name" not in attr:
            if tag == "option" and self._select and "selected" in attr:
                self.data.setdefault(self._select, []).append(attr.get("value", ""))
            return
        name = attr["name"]
        if tag == "input":
            kind = attr.get("type", "text")
            if kind in ("submit", "button", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attr:
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            self.data.setdefault(name, []).append(attr.get("value", default))
        elif tag == "select":
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "textarea":
            self._textarea = name
            self.data[name] = [""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea][-1] += data.removeprefix("\n")


def form_data(client: Client, url: str) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 200, url
    reader = _FormReader()
    reader.feed(response.content.decode())
    # A select with nothing selected submits nothing.
    return {
        name: values if len(values) > 1 else values[0]
        for name, values in reader.data.items()
        if values
    }


def two_projects(project: Project, other: Project) -> dict[str, Any]:
    """The same things in A (`project`) and B (`other`), named so either side can be told apart."""
    made: dict[str, Any] = {}
    for side, target in (("a", project), ("b", other)):
        interaction = InteractionFactory(project=target, request_id=f"{side}-interaction")
        check = CheckFactory(project=target, name=f"{side}-check")
        guideline = guideline_publish(project=target, text=f"{side} guideline")
        queue = queue_create(
            project=target,
            name=f"{side}-queue",
            sources=[{"type": "low_rated", "threshold": 0.4}],
            schema=REVIEW_SCHEMA,
        )
        made[side] = {
            "interaction": interaction,
            "feedback": FeedbackFactory(interaction=interaction),
            "check": check,
            "flag": FlagFactory(check_config=check, interaction=interaction),
            "guideline": guideline,
            "queue": queue,
            "item": QueueItemFactory(queue=queue, interaction=interaction),
            "member": member_upsert(
                username=f"{side}-annotator", project=target, role=Role.ANNOTATOR
            ).obj.user,
        }
    return made


def test_a_lead_cannot_point_their_feedback_at_another_projects_interaction(
    project: Project, lead: Persona, outsider: Persona, other_keyed_project: KeyedProject
) -> None:
    made = two_projects(project, other_keyed_project.project)
    feedback = made["b"]["feedback"]
    url = f"/admin/annotation/feedback/{feedback.pk}/change/"
    client = login(outsider)
    data = form_data(client, url)
    data["interaction"] = str(made["a"]["interaction"].pk)

    response = client.post(url, data)

    assert response.status_code == 200
    assert b"Select a valid choice" in response.content
    # The refused id is not even named back.
    assert b"a-interaction" not in response.content
    feedback.refresh_from_db()
    assert feedback.interaction == made["b"]["interaction"]
    assert not made["a"]["interaction"].feedback.exclude(project=project).exists()


def test_a_lead_still_edits_their_own_feedback(
    project: Project, outsider: Persona, other_keyed_project: KeyedProject
) -> None:
    made = two_projects(project, other_keyed_project.project)
    feedback = made["b"]["feedback"]
    url = f"/admin/annotation/feedback/{feedback.pk}/change/"
    client = login(outsider)
    data = form_data(client, url)
    data["text"] = "checked by hand"

    assert client.post(url, data).status_code == 302
    feedback.refresh_from_db()
    assert feedback.text == "checked by hand"
    assert feedback.interaction == made["b"]["interaction"]


def test_a_superuser_cannot_link_feedback_across_projects_either(
    project: Project, other_keyed_project: KeyedProject
) -> None:
    made = two_projects(project, other_keyed_project.project)
    root = get_user_model().objects.create_superuser("root", password="pw-0123456789")
    client = Client()
    client.force_login(root)
    feedback = made["b"]["feedback"]
    url = f"/admin/annotation/feedback/{feedback.pk}/change/"
    data = form_data(client, url)
    data["interaction"] = str(made["a"]["interaction"].pk)

    response = client.post(url, data)

    assert response.status_code == 200
    assert b"is not in project other-bot" in response.content
    feedback.refresh_from_db()
    assert feedback.interaction == made["b"]["interaction"]


def test_a_lead_cannot_give_their_queue_another_projects_guideline_or_annotators(
    project: Project, outsider: Persona, other_keyed_project: KeyedProject
) -> None:
    made = two_projects(project, other_keyed_project.project)
    queue = made["b"]["queue"]
    url = f"/admin/annotation/queue/{queue.pk}/change/"
    client = login(outsider)

    for field, value in (
        ("guideline", str(made["a"]["guideline"].pk)),
        ("annotators", [str(made["a"]["member"].pk)]),
    ):
        data = form_data(client, url)
        data[field] = value
        response = client.post(url, data)
        assert response.status_code == 200, field
        assert b"Select a valid choice" in response.content, field

    queue.refresh_from_db()
    assert queue.guideline is None
    assert list(queue.annotators.all()) == []
    page = client.get(url).content
    assert b"a guideline" not in page and b"a-annotator" not in page


def test_a_lead_cannot_add_a_queue_membership_or_check_in_another_project(
    project: Project, outsider: Persona, other_keyed_project: KeyedProject
) -> None:
    made = two_projects(project, other_keyed_project.project)
    client = login(outsider)
    data = form_data(client, "/admin/annotation/queue/add/")
    data.update(
        project=str(project.pk),
        name="sneaky",
        schema=json.dumps(REVIEW_SCHEMA),
        sources='[{"type": "random", "rate": 1}]',
    )
    refused = [client.post("/admin/annotation/queue/add/", data)]
    refused.append(
        client.post(
            "/admin/annotation/membership/add/",
            {
                "project": str(other_keyed_project.project.pk),
                "user": made["a"]["member"].pk,
                "role": "annotator",
            },
        )
    )
    refused.append(
        client.post(
            "/admin/annotation/membership/add/",
            {"project": str(project.pk), "user": made["b"]["member"].pk, "role": "lead"},
        )
    )

    for response in refused:
        assert response.status_code == 200
        assert b"Select a valid choice" in response.content
    assert not Queue.objects.filter(name="sneaky").exists()
    assert not Membership.objects.filter(project=project, user=made["b"]["member"]).exists()
    assert not Membership.objects.filter(
        project=other_keyed_project.project, user=made["a"]["member"]
    ).exists()


CHANGELISTS = {
    "interaction": "interaction",
    "feedback": "feedback",
    "check": "check",
    "flag": "flag",
    "guideline": "guideline",
    "queue": "queue",
    "queueitem": "item",
}


def test_a_leads_changelists_show_only_their_projects_rows(
    project: Project, lead: Persona, outsider: Persona, other_keyed_project: KeyedProject
) -> None:
    made = two_projects(project, other_keyed_project.project)
    for persona, mine, theirs in ((outsider, "b", "a"), (lead, "a", "b")):
        client = login(persona)
        for page, key in CHANGELISTS.items():
            response = client.get(f"/admin/annotation/{page}/")
            shown = set(response.context["cl"].result_list)
            assert made[mine][key] in shown, page
            assert made[theirs][key] not in shown, page


def _filter_choices(response: Any) -> dict[str, list[str]]:
    return {
        str(spec.title): [str(label) for _, label in spec.lookup_choices]
        for spec in response.context["cl"].filter_specs
        if isinstance(spec, RelatedFieldListFilter)
    }


def test_a_leads_filters_list_only_their_projects_checks_and_queues(
    project: Project, outsider: Persona, other_keyed_project: KeyedProject
) -> None:
    made = two_projects(project, other_keyed_project.project)
    third = project_create(name="third-bot").obj.project
    member_upsert(username="outsider", project=third, role=Role.LEAD)
    CheckFactory(project=third, name="c-check")
    queue_create(
        project=third, name="c-queue", sources=[{"type": "random", "rate": 1}], schema=REVIEW_SCHEMA
    )
    client = login(outsider)

    projects = _filter_choices(client.get("/admin/annotation/interaction/"))["project"]
    checks = _filter_choices(client.get("/admin/annotation/flag/"))["check config"]
    queues = _filter_choices(client.get("/admin/annotation/queueitem/"))["queue"]

    assert sorted(projects) == ["other-bot", "third-bot"]
    assert "other-bot/b-check" in checks and "third-bot/c-check" in checks
    assert not [name for name in checks if name.startswith("support-bot/")]
    assert queues == ["other-bot/b-queue", "third-bot/c-queue"]
    for page in ("interaction", "feedback", "check", "flag", "queue", "membership", "export"):
        assert b"support-bot" not in client.get(f"/admin/annotation/{page}/").content, page
    assert made["a"]["queue"].name not in str(queues)


def test_a_superuser_sees_and_filters_every_project(
    project: Project, other_keyed_project: KeyedProject
) -> None:
    made = two_projects(project, other_keyed_project.project)
    root = get_user_model().objects.create_superuser("root", password="pw-0123456789")
    client = Client()
    client.force_login(root)

    response = client.get("/admin/annotation/flag/")

    assert {made["a"]["flag"], made["b"]["flag"]} <= set(response.context["cl"].result_list)
    checks = _filter_choices(response)["check config"]
    assert "support-bot/a-check" in checks and "other-bot/b-check" in checks


def test_the_services_refuse_links_across_projects(
    project: Project, other_keyed_project: KeyedProject
) -> None:
    made = two_projects(project, other_keyed_project.project)
    feedback = made["b"]["feedback"]
    feedback.interaction = made["a"]["interaction"]

    with pytest.raises(ValidationError, match="is not in project other-bot"):
        feedback_update(feedback=feedback, fields=["interaction"])
    with pytest.raises(ValidationError, match="guideline"):
        queue_update(queue=made["b"]["queue"], guideline=made["a"]["guideline"])
    with pytest.raises(ValidationError, match="guideline"):
        queue_create(
            project=other_keyed_project.project,
            name="pinned",
            sources=[{"type": "random", "rate": 1}],
            schema=REVIEW_SCHEMA,
            guideline=made["a"]["guideline"],
        )
    with pytest.raises(ValidationError, match="not members of project other-bot"):
        queue_update(queue=made["b"]["queue"], annotators=[made["a"]["member"]])
    assert Feedback.objects.get(pk=feedback.pk).interaction == made["b"]["interaction"]
    assert made["b"]["queue"].annotators.count() == 0


# -- Queues saved through the services -------------------------------------------------------------


def test_the_admin_schedules_a_queue_whose_schedule_it_sets(
    project: Project, lead: Persona
) -> None:
    queue = queue_create(
        project=project,
        name="weekly",
        sources=[{"type": "low_rated", "threshold": 0.4}],
        schema=REVIEW_SCHEMA,
    )
    url = f"/admin/annotation/queue/{queue.pk}/change/"
    client = login(lead)
    data = form_data(client, url)
    data["fill_every_minutes"] = "30"
    before = timezone.now()

    assert client.post(url, data).status_code == 302

    queue.refresh_from_db()
    assert queue.next_fill_at is not None
    assert (
        before + timedelta(minutes=29) < queue.next_fill_at < timezone.now() + timedelta(minutes=31)
    )


def test_the_admin_assigns_annotators_as_the_api_does(
    project: Project, lead: Persona, annotator: Persona
) -> None:
    queue = queue_create(
        project=project,
        name="weekly",
        sources=[{"type": "low_rated", "threshold": 0.4}],
        schema=REVIEW_SCHEMA,
    )
    # Nobody could finish it before: with an annotator assigned it is offered again.
    stuck = QueueItemFactory(queue=queue, state=ItemState.SKIPPED)
    url = f"/admin/annotation/queue/{queue.pk}/change/"
    client = login(lead)
    data = form_data(client, url)
    data["annotators"] = [str(annotator.user.pk)]

    assert client.post(url, data).status_code == 302

    assert list(queue.annotators.all()) == [annotator.user]
    stuck.refresh_from_db()
    assert stuck.state == ItemState.OPEN


def test_the_admin_refuses_a_member_of_another_led_project_as_annotator(
    project: Project, lead: Persona
) -> None:
    second = project_create(name="second-bot").obj.project
    member_upsert(username="lead", project=second, role=Role.LEAD)
    elsewhere = member_upsert(username="elsewhere", project=second, role=Role.ANNOTATOR).obj.user
    client = login(lead)
    data = form_data(client, "/admin/annotation/queue/add/")
    data.update(
        project=str(project.pk),
        name="weekly",
        schema=json.dumps(REVIEW_SCHEMA),
        sources='[{"type": "random", "rate": 1}]',
        annotators=[str(elsewhere.pk)],
    )

    response = client.post("/admin/annotation/queue/add/", data)

    assert response.status_code == 200
    assert b"elsewhere not members of project support-bot" in response.content
    assert not Queue.objects.filter(name="weekly").exists()


def test_the_admin_creates_a_scheduled_queue_through_the_service(
    project: Project, lead: Persona, annotator: Persona
) -> None:
    client = login(lead)
    data = form_data(client, "/admin/annotation/queue/add/")
    data.update(
        project=str(project.pk),
        name="hourly",
        schema=json.dumps(REVIEW_SCHEMA),
        sources='[{"type": "random", "rate": 1}]',
        fill_every_minutes="60",
        annotators=[str(annotator.user.pk)],
    )

    assert client.post("/admin/annotation/queue/add/", data).status_code == 302

    queue = Queue.objects.get(name="hourly")
    assert queue.created_by == lead.user
    assert queue.next_fill_at is not None and queue.next_fill_at <= timezone.now()
    assert list(queue.annotators.all()) == [annotator.user]


def test_the_admin_refuses_a_second_queue_of_the_same_name(project: Project, lead: Persona) -> None:
    for name in ("one", "two"):
        queue_create(
            project=project,
            name=name,
            sources=[{"type": "random", "rate": 1}],
            schema=REVIEW_SCHEMA,
        )
    queue = Queue.objects.get(name="two")
    url = f"/admin/annotation/queue/{queue.pk}/change/"
    client = login(lead)
    data = form_data(client, url)
    data["name"] = "one"

    response = client.post(url, data)

    assert response.status_code == 200
    assert b"already has a queue named" in response.content
    queue.refresh_from_db()
    assert queue.name == "two"


def test_a_queue_or_check_never_moves_to_another_project(project: Project, lead: Persona) -> None:
    second = project_create(name="second-bot").obj.project
    member_upsert(username="lead", project=second, role=Role.LEAD)
    queue = queue_create(
        project=project,
        name="weekly",
        sources=[{"type": "random", "rate": 1}],
        schema=REVIEW_SCHEMA,
    )
    check = CheckFactory(project=project, name="mine")
    client = login(lead)

    for url in (
        f"/admin/annotation/queue/{queue.pk}/change/",
        f"/admin/annotation/check/{check.pk}/change/",
    ):
        data = form_data(client, url)
        assert "project" not in data, url
        data["project"] = str(second.pk)
        assert client.post(url, data).status_code == 302, url

    queue.refresh_from_db()
    check.refresh_from_db()
    assert queue.project == project and check.project == project


def test_a_lead_added_in_the_admin_can_use_the_admin(project: Project, lead: Persona) -> None:
    newcomer = get_user_model().objects.create_user("newcomer", password="pw-0123456789")
    member_upsert(username="newcomer", project=project, role=Role.ANNOTATOR)
    membership = Membership.objects.get(user=newcomer)
    url = f"/admin/annotation/membership/{membership.pk}/change/"
    client = login(lead)
    data = form_data(client, url)
    data["role"] = "lead"

    assert client.post(url, data).status_code == 302

    newcomer.refresh_from_db()
    assert newcomer.is_staff
    second = Client()
    second.force_login(newcomer)
    assert second.get("/admin/annotation/interaction/").status_code == 200


def test_a_fill_takes_only_its_own_projects_interactions(
    project: Project, other_keyed_project: KeyedProject
) -> None:
    """Items link a queue to interactions of its project only, whatever the source."""
    for target in (project, other_keyed_project.project):
        judge = Check.objects.create(project=target, name="judge", type="llm_judge", severity=20)
        pii = Check.objects.get(project=target, name="pii")
        for n in range(3):
            low = InteractionFactory(project=target, request_id=f"low-{n}")
            FeedbackFactory(interaction=low, normalized_score=0.0)
            flagged = InteractionFactory(project=target, request_id=f"flagged-{n}")
            FlagFactory(check_config=pii, interaction=flagged)
            FlagFactory(check_config=judge, interaction=flagged, score=0.5)
            abandoned = InteractionFactory(project=target, request_id=f"abandoned-{n}")
            FeedbackFactory(interaction=abandoned, kind="implicit", event="abandoned")
    queue = queue_create(
        project=project,
        name="everything",
        sources=[
            {"type": "low_rated"},
            {"type": "flagged", "checks": ["pii"]},
            {"type": "uncertain", "checks": ["judge"]},
            {"type": "implicit_negative"},
            {"type": "random", "rate": 1.0},
        ],
        schema=REVIEW_SCHEMA,
    )

    fill = queue_fill_now(queue=queue)

    assert fill.added == Interaction.objects.filter(project=project).count() == 9
    assert set(
        QueueItem.objects.filter(queue=queue).values_list("interaction__project", flat=True)
    ) == {project.pk}
