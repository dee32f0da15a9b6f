"""Filter inputs suggest the values a project's interactions carry: bounded and cached."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.models import Project
from annotation.selectors import filter_suggestions as suggestions
from annotation.selectors.filter_suggestions import filter_suggestions
from tests.conftest import Persona
from tests.factories import InteractionFactory
from tests.workspace.conftest import browser


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    cache.clear()
    yield
    cache.clear()


def test_it_suggests_the_values_seen_most_frequent_first(
    project: Project, other_keyed_project: Any
) -> None:
    for version, count in (("2026-10-01", 3), ("2026-11-15", 1)):
        for _ in range(count):
            InteractionFactory(
                project=project,
                model_version=version,
                prompt_template="support_answer",
                metadata={"locale": "en-GB", "tier": "pro"},
            )
    InteractionFactory(project=other_keyed_project.project, model_version="secret-version")

    found = filter_suggestions(project)

    assert found["model_version"] == ["2026-10-01", "2026-11-15"]
    assert found["prompt_template"] == ["support_answer"]
    assert sorted(found["metadata_keys"]) == ["locale", "tier"]
    assert "secret-version" not in found["model_version"]


def test_every_list_is_capped_and_long_values_left_out(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(suggestions, "MAX_VALUES", 5)
    for n in range(8):
        InteractionFactory(project=project, model_version=f"v{n}", metadata={f"key{n}": 1})
    InteractionFactory(project=project, model_version="x" * 201)

    found = filter_suggestions(project)

    assert len(found["model_version"]) == 5 and len(found["metadata_keys"]) == 5
    assert all(len(value) <= 200 for value in found["model_version"])


def test_only_recent_interactions_are_read(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(suggestions, "SAMPLE_ROWS", 3)
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 11, 1, tzinfo=UTC)
    InteractionFactory(project=project, model_version="old", timestamp=start)
    for n in range(3):
        InteractionFactory(
            project=project, model_version="new", timestamp=start + timedelta(days=n + 1)
        )

    assert filter_suggestions(project)["model_version"] == ["new"]


def test_the_answer_is_cached_briefly(project: Project) -> None:
    InteractionFactory(project=project, model_version="v1")
    filter_suggestions(project)
    InteractionFactory(project=project, model_version="v2")

    with CaptureQueriesContext(connection) as queries:
        again = filter_suggestions(project)

    assert again["model_version"] == ["v1"] and len(queries) == 0
    cache.clear()
    assert set(filter_suggestions(project)["model_version"]) == {"v1", "v2"}


def test_the_queue_editor_offers_them_as_datalists(project: Project, lead: Persona) -> None:
    InteractionFactory(project=project, model_version="2026-10-01", metadata={"locale": "en"})

    html = browser(lead).get(f"/lead/queues/new?project={project.name}").content.decode()

    assert 'list="suggest-model_version"' in html
    assert (
        '<datalist id="suggest-model_version"><option value="2026-10-01"></option></datalist>'
        in html
    )
    assert "<code>locale</code>" in html


def test_the_export_form_suggests_the_values_of_your_projects(
    project: Project, other_keyed_project: Any, engineer: Persona
) -> None:
    InteractionFactory(project=project, model="gpt-x", prompt_template="support_answer")
    InteractionFactory(project=other_keyed_project.project, model="not-yours")

    html = browser(engineer).get("/exports/").content.decode()

    assert 'list="export-suggest-model"' in html
    assert '<datalist id="export-suggest-model"><option value="gpt-x"></option></datalist>' in html
    assert "not-yours" not in html
