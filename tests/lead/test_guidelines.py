from __future__ import annotations

from django.utils import timezone

from annotation.models import Annotation, Guideline, Project, Queue
from tests.conftest import Persona
from tests.lead.conftest import HTMX
from tests.workspace.conftest import add_items, browser

URL = "/lead/projects/support-bot/guidelines"


def test_the_guidelines_page_lists_versions_and_prefills_the_next_one(
    lead: Persona, guideline: Guideline
) -> None:
    response = browser(lead).get(URL)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and "Guidelines of support-bot" in html
    assert 'href="/lead/projects/support-bot/guidelines/1"' in html
    assert "Write version 2" in html
    assert "# Rules\n\nMark wrong answers **bad**.</textarea>" in html
    assert 'name="base_version" value="1"' in html
    assert f'hx-post="{URL}/preview" hx-trigger="input changed delay:500ms"' in html


def test_an_htmx_request_gets_only_the_versions(lead: Persona, guideline: Guideline) -> None:
    response = browser(lead).get(URL, **HTMX)

    html = response.content.decode()
    assert "<html" not in html and html.lstrip().startswith('<div id="guideline-versions">')
    assert "v1" in html


def test_a_project_without_guidelines_starts_at_version_one(
    lead: Persona, project: Project
) -> None:
    html = browser(lead).get(URL).content.decode()

    assert "No version yet" in html and "Publish version 1" in html


def test_the_preview_renders_the_markdown_and_diffs_it_against_the_latest(
    lead: Persona, guideline: Guideline
) -> None:
    text = "# Rules\n\nMark wrong or unsafe answers **bad**."

    response = browser(lead).post(f"{URL}/preview", {"text": text}, **HTMX)

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="guideline-preview"')
    assert "<h1>Rules</h1>" in html and "<strong>bad</strong>" in html
    assert "Mark wrong <ins>or unsafe </ins>answers" in html
    assert not Guideline.objects.filter(version=2).exists()


def test_without_javascript_the_preview_returns_the_page_with_the_text_kept(
    lead: Persona, guideline: Guideline
) -> None:
    response = browser(lead).post(f"{URL}/preview", {"text": "New *text*"})

    html = response.content.decode()
    assert "<html" in html
    assert "New *text*</textarea>" in html and "<em>text</em>" in html


def test_publishing_creates_the_next_version_and_shows_its_diff(
    lead: Persona, guideline: Guideline
) -> None:
    client = browser(lead)
    text = "# Rules\n\nMark wrong answers **bad**, and unsafe ones too."

    response = client.post(URL, {"text": text, "base_version": "1"})

    assert response.status_code == 302
    assert response["Location"] == f"{URL}/2"
    published = Guideline.objects.get(project=guideline.project, version=2)
    assert published.text == text and published.created_by == lead.user
    html = client.get(response["Location"]).content.decode()
    assert "Published version 2." in html
    assert "Changes since v1" in html
    assert "<ins>, and unsafe ones too</ins>" in html
    assert "<strong>bad</strong>, and unsafe ones too." in html
    assert Guideline.objects.get(version=1).text == guideline.text


def test_old_annotations_keep_the_version_they_were_made_under(
    lead: Persona, annotator: Persona, queue: Queue, guideline: Guideline
) -> None:
    item = add_items(queue, 1)[0]
    now = timezone.now()
    annotation = Annotation.objects.create(
        item=item,
        annotator=annotator.user,
        values={"verdict": "bad"},
        guideline=guideline,
        created_at=now,
        updated_at=now,
    )

    browser(lead).post(URL, {"text": "Version two.", "base_version": "1"})

    annotation.refresh_from_db()
    assert annotation.guideline is not None and annotation.guideline.version == 1


def test_an_empty_guideline_is_refused_with_the_services_message(
    lead: Persona, guideline: Guideline
) -> None:
    response = browser(lead).post(URL, {"text": "  \n", "base_version": "1"})

    assert response.status_code == 422
    assert "the guideline is empty; write its text in markdown" in response.content.decode()
    assert Guideline.objects.count() == 1


def test_publishing_over_a_version_published_meanwhile_asks_first(
    lead: Persona, guideline: Guideline
) -> None:
    Guideline.objects.create(project=guideline.project, version=2, text="Someone else's.")

    response = browser(lead).post(URL, {"text": "Mine.", "base_version": "1"})

    html = response.content.decode()
    assert response.status_code == 422
    assert "Version 2 was published by someone after you opened this page" in html
    assert "Mine.</textarea>" in html and 'name="base_version" value="2"' in html
    assert Guideline.objects.count() == 2


def test_the_first_version_has_nothing_to_compare_with(lead: Persona, guideline: Guideline) -> None:
    response = browser(lead).get(f"{URL}/1")

    html = response.content.decode()
    assert response.status_code == 200
    assert "The first version: nothing to compare with." in html
    assert "<strong>bad</strong>" in html


def test_a_version_page_as_an_htmx_partial(lead: Persona, guideline: Guideline) -> None:
    response = browser(lead).get(f"{URL}/1", **HTMX)

    html = response.content.decode()
    assert "<html" not in html and html.lstrip().startswith('<article id="guideline-version"')


def test_an_unknown_version_is_not_found(lead: Persona, guideline: Guideline) -> None:
    assert browser(lead).get(f"{URL}/9").status_code == 404


def test_guideline_text_never_runs(lead: Persona, project: Project) -> None:
    Guideline.objects.create(project=project, version=1, text="Fine.")
    Guideline.objects.create(
        project=project, version=2, text="<script>alert(1)</script> [x](javascript:alert(1))"
    )
    client = browser(lead)

    version = client.get(f"{URL}/2").content.decode()
    editor = client.get(URL).content.decode()

    assert "<script>alert(1)</script>" not in version and 'href="javascript:' not in version
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in version
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in editor
    assert "<script>alert(1)</script>" not in editor
