from __future__ import annotations

from annotation.models import Project
from tests.conftest import Persona
from tests.workspace.conftest import browser


def test_leads_see_the_lead_link(lead: Persona) -> None:
    html = browser(lead).get("/").content.decode()

    assert '<a href="/lead/">Lead</a>' in html


def test_people_who_lead_nothing_do_not(annotator: Persona, engineer: Persona) -> None:
    assert '<a href="/lead/">Lead</a>' not in browser(annotator).get("/").content.decode()
    assert '<a href="/lead/">Lead</a>' not in browser(engineer).get("/").content.decode()


def test_the_link_costs_one_query(
    lead: Persona, project: Project, django_assert_num_queries: object
) -> None:
    from django.template import Context, Template

    template = Template("{% load lead_nav %}{% leads_any as shows %}{{ shows }}")

    with django_assert_num_queries(1):  # type: ignore[operator]
        assert template.render(Context({"user": lead.user})) == "True"
