"""Export previews and presets over the API: shapes, field errors in the envelope, roles."""

from __future__ import annotations

from typing import Any

import pytest

from annotation.models import ExportPreset, Project
from tests.conftest import Persona
from tests.exports.conftest import Reviews


@pytest.fixture
def reviewed(reviews: Reviews) -> Reviews:
    for n in range(4):
        reviews.item(f"question {n}", annotations=[{"verdict": "good"}])
    reviews.item("corrected", annotations=[{"verdict": "bad", "correction": "Better."}])
    return reviews


def test_the_preview_answers_counts_samples_and_warnings(
    reviewed: Reviews, engineer: Persona
) -> None:
    response = engineer.client().post(
        "/api/v1/exports/preview",
        {"project": "support-bot", "kind": "openai_dpo", "split": {"validation": 0.5, "seed": 1}},
        format="json",
    )

    body = response.json()
    assert response.status_code == 200
    assert body["rows"] == 1 and body["complete"] is True
    assert body["items"] == 5 and body["excluded"] == {"no_pair": 4}
    assert sum(body["by_part"].values()) == 1 and len(body["warnings"]) == 1
    assert set(body["samples"][0]) == {"input", "preferred_output", "non_preferred_output"}


def test_annotation_samples_come_back_as_json(reviewed: Reviews, lead: Persona) -> None:
    response = lead.client().post(
        "/api/v1/exports/preview", {"project": "support-bot", "kind": "annotations"}, format="json"
    )

    sample = response.json()["samples"][0]
    assert sample["created_at"].startswith("2026-11-20")


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"project": "support-bot", "kind": "dpo"}, "unknown_kind", "kind"),
        (
            {"project": "support-bot", "kind": "sft", "filters": {"min_agreement": 2}},
            "invalid_export",
            "filters.min_agreement",
        ),
        ({"kind": "sft"}, "invalid_export", "project"),
    ],
)
def test_a_bad_request_is_refused_by_field(
    reviewed: Reviews, engineer: Persona, body: dict[str, Any], code: str, field: str
) -> None:
    response = engineer.client().post("/api/v1/exports/preview", body, format="json")

    error = response.json()["error"]
    assert response.status_code == 400
    assert error["code"] == code
    assert error["details"]["errors"][0]["field"] == field


def test_presets_are_saved_listed_read_and_deleted(project: Project, engineer: Persona) -> None:
    client = engineer.client()

    created = client.post(
        "/api/v1/export-presets",
        {
            "project": "support-bot",
            "name": "weekly",
            "request": {"kind": "sft", "redact_pii": True},
        },
        format="json",
    )
    preset_id = created.json()["id"]
    listed = client.get("/api/v1/export-presets?project=support-bot").json()
    read = client.get(f"/api/v1/export-presets/{preset_id}").json()
    deleted = client.delete(f"/api/v1/export-presets/{preset_id}")

    assert created.status_code == 201
    assert created.json()["request"] == {"kind": "sft", "redact_pii": True}
    assert [p["name"] for p in listed] == ["weekly"]
    assert read["created_by"] == "engineer"
    assert deleted.status_code == 204 and not ExportPreset.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"project": "support-bot", "request": {"kind": "sft"}}, "name"),
        ({"project": "support-bot", "name": "x", "request": "sft"}, "request"),
        ({"project": "support-bot", "name": "", "request": {"kind": "sft"}}, "name"),
        ({"project": "support-bot", "name": "x", "request": {"kind": "nope"}}, "request"),
    ],
)
def test_a_bad_preset_is_refused_by_field(
    project: Project, lead: Persona, body: dict[str, Any], field: str
) -> None:
    response = lead.client().post("/api/v1/export-presets", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert not ExportPreset.objects.exists()


def test_roles_and_projects_are_checked(
    project: Project, lead: Persona, engineer: Persona, annotator: Persona, outsider: Persona
) -> None:
    theirs = ExportPreset.objects.create(
        project=project, name="lead's", request={"kind": "sft"}, created_by=lead.user
    )
    body = {"project": "support-bot", "name": "x", "request": {"kind": "sft"}}

    assert annotator.client().get("/api/v1/export-presets").status_code == 403
    assert annotator.client().post("/api/v1/export-presets", body, format="json").status_code == 403
    assert outsider.client().post("/api/v1/export-presets", body, format="json").status_code == 404
    assert outsider.client().get(f"/api/v1/export-presets/{theirs.pk}").status_code == 404
    assert outsider.client().get("/api/v1/export-presets").json() == []  # their own: none
    assert engineer.client().delete(f"/api/v1/export-presets/{theirs.pk}").status_code == 403
    assert ExportPreset.objects.filter(pk=theirs.pk).exists()
    assert lead.client().delete(f"/api/v1/export-presets/{theirs.pk}").status_code == 204
