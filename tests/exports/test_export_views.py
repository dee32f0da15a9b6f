"""The exports pages: full pages, htmx partials, the form, and who may see them."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.test import Client

from annotation.models import Export, JobStatus, Project
from tests.conftest import Persona
from tests.exports.conftest import Reviews, browser, build

Capture = Callable[..., AbstractContextManager[Any]]
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def reviewed(reviews: Reviews) -> Reviews:
    for n in range(3):
        reviews.item(f"question {n}", annotations=[{"verdict": "good"}])
    return reviews


def html(response: Any) -> str:
    return response.content.decode()


# -- the list and the form -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["engineer", "lead"])
def test_the_page_lists_exports_and_offers_the_form(
    reviewed: Reviews, project: Project, request: pytest.FixtureRequest, who: str
) -> None:
    persona: Persona = request.getfixturevalue(who)
    export = build(project, persona, kind="sft")

    response = browser(persona).get("/exports/")

    assert response.status_code == 200
    page = html(response)
    assert "<html" in page
    assert f'href="/exports/{export.pk}"' in page
    assert f'href="/api/v1/exports/{export.pk}/download?part=all"' in page
    assert f'href="/exports/{export.pk}/manifest.json"' in page
    assert 'name="kind"' in page and 'name="min_agreement"' in page
    assert f"{reviewed.queue.project.name} / weekly" in page
    assert 'href="/exports/">Exports</a>' in page  # the nav link
    assert "hx-trigger" not in page  # nothing runs, nothing polls


def test_the_list_polls_while_an_export_runs_and_htmx_gets_only_the_list(
    project: Project, engineer: Persona
) -> None:
    Export.objects.create(project=project, kind="sft", status=JobStatus.RUNNING, progress=0.25)

    response = browser(engineer).get("/exports/", **HTMX)

    page = html(response)
    assert response.status_code == 200
    assert "<html" not in page and 'name="kind"' not in page
    assert page.lstrip().startswith('<section id="export-list"')
    assert 'hx-trigger="every 2s"' in page
    assert '<progress max="1" value="0.250"' in page


def test_the_form_starts_an_export_and_shows_it(
    reviewed: Reviews,
    project: Project,
    engineer: Persona,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    client = browser(engineer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/exports/",
            {
                "project": "support-bot",
                "kind": "sft",
                "format": "jsonl",
                "queues": [str(reviewed.queue.pk)],
                "since": "2026-11-01T00:00",
                "model_version": "2026-10-01, 2026-11-15",
                "pii": "redact",
                "dedupe": "on",
                "validation": "0.2",
                "seed": "7",
            },
        )

    export = Export.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/exports/{export.pk}"
    assert export.created_by == engineer.user
    assert export.filters == {
        "queues": [reviewed.queue.pk],
        "since": "2026-11-01T00:00:00Z",
        "model_version": ["2026-10-01", "2026-11-15"],
    }
    assert export.options["redact_pii"] is True
    assert export.options["split"] == {"validation": 0.2, "seed": 7}
    assert export.status == JobStatus.DONE
    detail = html(client.get(response["Location"]))
    assert "Export 1 started." in detail or f"Export {export.pk} started." in detail
    assert "train.jsonl" in detail and "validation.jsonl" in detail


@pytest.mark.parametrize(
    ("post", "field_error"),
    [
        ({"min_agreement": "2"}, "less than or equal to 1"),
        (
            {"kind": "retrieval", "system_prompt": "Be brief."},
            "applies to sft, preference, openai_dpo, eval",
        ),
        ({"kind": "annotations", "dedupe": "on"}, ""),
    ],
)
def test_a_refused_form_comes_back_with_the_problem_on_its_field(
    reviewed: Reviews, engineer: Persona, post: dict[str, str], field_error: str
) -> None:
    data = {"project": "support-bot", "kind": "sft", "format": "jsonl", "pii": "keep", **post}

    response = browser(engineer).post("/exports/", data)

    if not field_error:
        # The form leaves dedupe out of annotation requests: accepted.
        assert response.status_code == 302
        return
    assert response.status_code == 400
    assert field_error in html(response)
    assert not Export.objects.exists()


# -- one export ----------------------------------------------------------------------------------


def test_a_done_export_shows_its_counts_files_and_manifest(
    reviewed: Reviews, project: Project, engineer: Persona
) -> None:
    reviewed.item("rejected", annotations=[{"verdict": "bad"}])
    export = build(project, engineer, kind="sft", split={"validation": 0.5, "seed": 3})

    page = html(browser(engineer).get(f"/exports/{export.pk}"))

    assert "rejected_without_correction: 1" in page
    for part in ("train", "validation"):
        assert f'href="/api/v1/exports/{export.pk}/download?part={part}"' in page
    assert export.manifest["files"][0]["sha256"] in page
    assert "&quot;schema_version&quot;: 2" in page
    assert "hx-trigger" not in page


def test_a_running_export_polls_its_status(project: Project, engineer: Persona) -> None:
    export = Export.objects.create(
        project=project, kind="eval", status=JobStatus.RUNNING, progress=0.5, rows=1234
    )
    client = browser(engineer)

    full = html(client.get(f"/exports/{export.pk}"))
    partial = html(client.get(f"/exports/{export.pk}", **HTMX))

    assert "<html" in full and "<html" not in partial
    assert partial.lstrip().startswith('<section id="export-status"')
    assert f'hx-get="/exports/{export.pk}" hx-trigger="every 1s"' in partial
    assert "50% of the matching items read" in partial and "1,234 rows so far" in partial


def test_a_failed_export_says_why(project: Project, engineer: Persona) -> None:
    export = Export.objects.create(
        project=project, kind="sft", status=JobStatus.FAILED, error="OSError: disk full"
    )

    page = html(browser(engineer).get(f"/exports/{export.pk}"))

    assert "The export failed: OSError: disk full" in page


def test_the_manifest_downloads_as_json(
    reviewed: Reviews, project: Project, engineer: Persona
) -> None:
    export = build(project, engineer, kind="sft")
    client = browser(engineer)

    response = client.get(f"/exports/{export.pk}/manifest.json")
    running = Export.objects.create(project=project, kind="sft", status=JobStatus.RUNNING)

    assert response.status_code == 200
    assert response.json() == export.manifest
    assert "attachment" in response["Content-Disposition"]
    assert client.get(f"/exports/{running.pk}/manifest.json").status_code == 404


# -- permissions ---------------------------------------------------------------------------------


def test_annotators_are_refused_and_see_no_link(
    reviewed: Reviews, project: Project, engineer: Persona, annotator: Persona
) -> None:
    export = build(project, engineer, kind="sft")
    client = browser(annotator)

    assert client.get("/exports/").status_code == 403
    assert client.get(f"/exports/{export.pk}").status_code == 403
    assert client.get(f"/exports/{export.pk}/manifest.json").status_code == 403
    assert client.post("/exports/", {"project": "support-bot", "kind": "sft"}).status_code == 403
    assert 'href="/exports/"' not in html(client.get("/"))


def test_outsiders_do_not_see_other_projects_exports(
    reviewed: Reviews, project: Project, engineer: Persona, outsider: Persona
) -> None:
    export = build(project, engineer, kind="sft")
    client = browser(outsider)

    page = html(client.get("/exports/"))

    assert f'href="/exports/{export.pk}"' not in page
    assert client.get(f"/exports/{export.pk}").status_code == 404
    refused = client.post("/exports/", {"project": "support-bot", "kind": "sft", "pii": "keep"})
    assert refused.status_code == 400
    assert not Export.objects.exclude(pk=export.pk).exists()


def test_anonymous_visitors_are_sent_to_log_in() -> None:
    response = Client().get("/exports/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
