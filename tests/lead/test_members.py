"""Members managed by a project's leads inside the app: add, change a role, remove."""

from __future__ import annotations

import pytest

from annotation.errors import Conflict, Invalid
from annotation.models import Membership, Project, Queue, Role
from annotation.services.members import member_add, member_remove, member_role_change
from tests.conftest import Persona
from tests.factories import UserFactory
from tests.lead.conftest import HTMX
from tests.workspace.conftest import browser


def role_of(project: Project, persona: Persona) -> str | None:
    return (
        Membership.objects.filter(project=project, user=persona.user)
        .values_list("role", flat=True)
        .first()
    )


def test_the_page_lists_members_with_their_roles(
    project: Project, lead: Persona, annotator: Persona, engineer: Persona
) -> None:
    response = browser(lead).get(f"/lead/projects/{project.name}/members")

    page = response.content.decode()
    assert response.status_code == 200 and "<html" in page
    for name in ("lead", "annotator", "engineer"):
        assert f'data-member="{name}"' in page
    assert "last lead" in page  # the only lead has no Remove button


def test_htmx_gets_the_list_only(project: Project, lead: Persona) -> None:
    page = browser(lead).get(f"/lead/projects/{project.name}/members", **HTMX).content.decode()

    assert "<html" not in page and page.lstrip().startswith('<section id="members"')


def test_a_lead_adds_an_existing_account_with_a_role(project: Project, lead: Persona) -> None:
    UserFactory(username="newcomer")
    client = browser(lead)

    response = client.post(
        f"/lead/projects/{project.name}/members", {"username": "newcomer", "role": "engineer"}
    )

    assert response.status_code == 302
    assert Membership.objects.get(project=project, user__username="newcomer").role == "engineer"
    page = client.get(response["Location"]).content.decode()
    assert "Added newcomer as" in page


@pytest.mark.parametrize(
    ("post", "message"),
    [
        ({"username": "nobody", "role": "annotator"}, "no active account named &#x27;nobody&#x27;"),
        ({"username": "annotator", "role": "annotator"}, "already a member"),
        ({"username": "x", "role": "owner"}, "Select a valid choice"),
    ],
)
def test_adding_refuses_with_the_problem_on_its_field(
    project: Project, lead: Persona, annotator: Persona, post: dict[str, str], message: str
) -> None:
    response = browser(lead).post(f"/lead/projects/{project.name}/members", post)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert Membership.objects.filter(project=project).count() == 2


def test_a_lead_changes_a_role(project: Project, lead: Persona, annotator: Persona) -> None:
    response = browser(lead).post(
        f"/lead/projects/{project.name}/members/{annotator.user.pk}/role", {"role": "lead"}
    )

    assert response.status_code == 302
    assert role_of(project, annotator) == Role.LEAD


def test_the_last_lead_cannot_step_down_or_be_removed(project: Project, lead: Persona) -> None:
    client = browser(lead)
    demoted = client.post(
        f"/lead/projects/{project.name}/members/{lead.user.pk}/role", {"role": "annotator"}
    )
    removed = client.post(f"/lead/projects/{project.name}/members/{lead.user.pk}/remove")

    assert demoted.status_code == removed.status_code == 409
    assert "is the last lead of support-bot" in demoted.content.decode()
    assert role_of(project, lead) == Role.LEAD


def test_with_two_leads_one_may_leave(project: Project, lead: Persona, engineer: Persona) -> None:
    member_role_change(project=project, user_id=engineer.user.pk, role="lead")

    response = browser(lead).post(f"/lead/projects/{project.name}/members/{lead.user.pk}/remove")

    assert response.status_code == 302
    assert role_of(project, lead) is None
    assert role_of(project, engineer) == Role.LEAD


def test_removing_a_member_takes_them_off_the_projects_queues(
    project: Project, lead: Persona, annotator: Persona, queue: Queue
) -> None:
    assert queue.annotators.filter(pk=annotator.user.pk).exists()

    response = browser(lead).post(
        f"/lead/projects/{project.name}/members/{annotator.user.pk}/remove"
    )

    assert response.status_code == 302
    assert role_of(project, annotator) is None
    assert not queue.annotators.filter(pk=annotator.user.pk).exists()


def test_a_lead_cannot_touch_another_project(
    project: Project, outsider: Persona, annotator: Persona
) -> None:
    client = browser(outsider)  # a lead of other-bot
    UserFactory(username="newcomer")

    answers = [
        client.get(f"/lead/projects/{project.name}/members"),
        client.post(
            f"/lead/projects/{project.name}/members", {"username": "newcomer", "role": "lead"}
        ),
        client.post(
            f"/lead/projects/{project.name}/members/{annotator.user.pk}/role", {"role": "lead"}
        ),
        client.post(f"/lead/projects/{project.name}/members/{annotator.user.pk}/remove"),
    ]

    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    assert role_of(project, annotator) == Role.ANNOTATOR
    assert not Membership.objects.filter(user__username="newcomer").exists()


def test_a_member_of_another_project_is_not_found_here(
    project: Project, lead: Persona, outsider: Persona
) -> None:
    response = browser(lead).post(
        f"/lead/projects/{project.name}/members/{outsider.user.pk}/role", {"role": "lead"}
    )

    assert response.status_code == 404
    other = Membership.objects.get(user=outsider.user)
    assert other.role == Role.LEAD and other.project.name == "other-bot"


@pytest.mark.parametrize("who", ["engineer", "annotator"])
def test_other_members_get_403(project: Project, request: pytest.FixtureRequest, who: str) -> None:
    persona: Persona = request.getfixturevalue(who)
    client = browser(persona)

    assert client.get(f"/lead/projects/{project.name}/members").status_code == 403
    assert (
        client.post(
            f"/lead/projects/{project.name}/members/{persona.user.pk}/role", {"role": "lead"}
        ).status_code
        == 403
    )
    assert role_of(project, persona) == who


def test_role_and_remove_answer_only_post(project: Project, lead: Persona) -> None:
    client = browser(lead)

    assert (
        client.get(f"/lead/projects/{project.name}/members/{lead.user.pk}/role").status_code == 405
    )
    assert (
        client.get(f"/lead/projects/{project.name}/members/{lead.user.pk}/remove").status_code
        == 405
    )


def test_the_services_refuse_by_field(project: Project, lead: Persona) -> None:
    with pytest.raises(Invalid) as unknown_role:
        member_add(project=project, username="lead", role="owner")
    with pytest.raises(Conflict) as last:
        member_remove(project=project, user_id=lead.user.pk)

    assert unknown_role.value.details == {"role": ["use one of annotator, lead, engineer"]}
    assert last.value.code == "last_lead"


def test_a_new_lead_gets_the_admin(project: Project, lead: Persona) -> None:
    user = UserFactory(username="boss", is_staff=False)

    member_add(project=project, username="boss", role="lead")

    user.refresh_from_db()
    assert user.is_staff
