from __future__ import annotations

from annotation.models import Project
from tests.conftest import Persona
from tests.workspace.conftest import browser


def test_leads_see_the_lead_link(lead: Persona) -> None:
    # A lead with no queue of their own lands on the insights overview: its header counts.
    html = browser(lead).get("/", follow=True).content.decode()

    assert '<a href="/lead/">Lead</a>' in html


def test_people_who_lead_nothing_do_not(annotator: Persona, engineer: Persona) -> None:
    assert '<a href="/lead/">Lead</a>' not in browser(annotator).get("/").content.decode()
    engineer_html = browser(engineer).get("/", follow=True).content.decode()
    assert "<header" in engineer_html and '<a href="/lead/">Lead</a>' not in engineer_html


def test_the_link_costs_one_query(
    lead: Persona, project: Project, django_assert_num_queries: object
) -> None:
    from django.template import Context, Template

    template = Template("{% load lead_nav %}{% leads_any as shows %}{{ shows }}")

    with django_assert_num_queries(1):  # type: ignore[operator]
        assert template.render(Context({"user": lead.user})) == "True"
