from __future__ import annotations

from annotation.models import Check, Project
from tests.conftest import Persona
from tests.lead.conftest import HTMX, form_data
from tests.review.data import flag, interaction, rating
from tests.workspace.conftest import browser


def test_the_editor_preview_says_which_stratum_capacity_cuts(
    lead: Persona, project: Project, checks: dict[str, Check]
) -> None:
    for n in range(5):
        rating(interaction(project, f"low-{n}"), 0.0)
    for n in range(2):
        flag(interaction(project, f"flag-{n}"), checks["pii"])
    data = form_data(
        sources=[{"type": "flagged"}, {"type": "low_rated", "threshold": "0.4", "labels": "on"}],
        capacity="4",
    )

    response = browser(lead).post("/lead/queues/new/preview?project=support-bot", data, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-cut="flagged"' not in html
    assert (
        '<p class="help" data-cut="low_rated">Capacity cuts the low_rated stratum (candidates '
        "whose most important reason is low_rated): 2 of 5, drawn at random by each fill"
    ) in html
