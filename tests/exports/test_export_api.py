"""The exports API: create, read, download, the audit log, permissions and refusals."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.core.files.storage import storages
from rest_framework.test import APIClient

from annotation.models import AuditEvent, Export, JobStatus, Project
from tests.conftest import KeyedProject, Persona
from tests.exports.conftest import Reviews, build, local_path

Capture = Callable[..., AbstractContextManager[Any]]
GOOD = {"verdict": "good"}


@pytest.fixture
def reviewed(reviews: Reviews) -> Reviews:
    for n in range(5):
        reviews.item(f"question {n}", annotations=[{"verdict": "bad", "correction": f"fix {n}"}])
    return reviews


def create(client: APIClient, capture: Capture, **data: Any) -> Any:
    body = {"project": "support-bot", "kind": "sft", **data}
    # The build is enqueued when the request's transaction commits (and runs inline in tests).
    with capture(execute=True):
        return client.post("/api/v1/exports", body, format="json")


def error(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


# -- create and read -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["engineer", "lead"])
def test_leads_and_engineers_build_exports(
    reviewed: Reviews,
    request: pytest.FixtureRequest,
    who: str,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    persona: Persona = request.getfixturevalue(who)

    response = create(
        persona.client(),
        django_capture_on_commit_callbacks,
        format="jsonl",
        redact_pii=True,
        split={"validation": 0.4, "seed": 7},
        filters={"queues": [reviewed.queue.pk]},
    )

    assert response.status_code == 202
    created = response.json()
    assert created["status"] == "pending"
    assert created["project"] == "support-bot"
    assert created["created_by"] == who
    assert created["filters"] == {"queues": [reviewed.queue.pk]}
    assert created["options"]["split"] == {"validation": 0.4, "seed": 7}

    detail = persona.client().get(f"/api/v1/exports/{created['id']}").json()
    assert detail["status"] == "done"
    assert detail["progress"] == 1.0
    assert detail["rows"] == 5
    assert [f["part"] for f in detail["files"]] == ["train", "validation"]
    assert detail["files"][0]["download_url"] == (
        f"/api/v1/exports/{created['id']}/download?part=train"
    )
    assert detail["manifest"]["counts"]["rows"] == 5
    assert detail["manifest"]["created_by"] == who


def test_the_list_shows_the_exports_of_ones_projects(
    reviewed: Reviews,
    project: Project,
    engineer: Persona,
    outsider: Persona,
    other_keyed_project: KeyedProject,
) -> None:
    ours = build(project, engineer, kind="sft")
    build(other_keyed_project.project, outsider, kind="sft")

    listed = engineer.client().get("/api/v1/exports").json()

    assert [e["id"] for e in listed] == [ours.pk]
    assert engineer.client().get("/api/v1/exports?status=failed").json() == []


def test_filters_that_match_nothing_are_an_empty_export_not_an_error(
    reviewed: Reviews, engineer: Persona, django_capture_on_commit_callbacks: Capture
) -> None:
    response = create(
        engineer.client(), django_capture_on_commit_callbacks, filters={"model": ["nothing"]}
    )

    export_id = response.json()["id"]
    detail = engineer.client().get(f"/api/v1/exports/{export_id}").json()
    assert detail["status"] == "done"
    assert detail["rows"] == 0
    assert detail["manifest"]["empty"] is True
    assert "No reviewed data matched" in detail["manifest"]["message"]
    download = engineer.client().get(f"/api/v1/exports/{export_id}/download")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b""


# -- bad requests --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code", "field"),
    [
        ({"kind": "dpo"}, "unknown_kind", "kind"),
        ({"format": "xlsx"}, "unknown_format", "format"),
        ({"filters": {"min_agreement": 7}}, "invalid_export", "filters.min_agreement"),
        ({"filters": {"queues": [999999]}}, "invalid_export", "filters.queues"),
        ({"split": {"validation": 2}}, "invalid_export", "split.validation"),
    ],
)
def test_a_bad_request_is_refused_with_the_field_named(
    reviewed: Reviews,
    engineer: Persona,
    django_capture_on_commit_callbacks: Capture,
    data: dict[str, Any],
    code: str,
    field: str,
) -> None:
    response = create(engineer.client(), django_capture_on_commit_callbacks, **data)

    assert response.status_code == 400
    assert error(response)["code"] == code
    assert error(response)["details"]["errors"][0]["field"] == field
    assert Export.objects.count() == 0


def test_a_request_without_a_project_or_not_an_object_is_refused(engineer: Persona) -> None:
    client = engineer.client()

    missing = client.post("/api/v1/exports", {"kind": "sft"}, format="json")
    listed = client.post("/api/v1/exports", [{"kind": "sft"}], format="json")
    broken = client.post("/api/v1/exports", b"{", content_type="application/json")

    assert missing.status_code == 400 and error(missing)["code"] == "invalid_export"
    assert listed.status_code == 400 and error(listed)["code"] == "invalid_export"
    assert broken.status_code == 400 and "error" in broken.json()


# -- permissions ---------------------------------------------------------------------------------


def test_annotators_cannot_build_or_see_exports(
    reviewed: Reviews,
    project: Project,
    engineer: Persona,
    annotator: Persona,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    export = build(project, engineer, kind="sft")
    client = annotator.client()

    created = create(client, django_capture_on_commit_callbacks)
    detail = client.get(f"/api/v1/exports/{export.pk}")
    download = client.get(f"/api/v1/exports/{export.pk}/download")

    assert created.status_code == detail.status_code == download.status_code == 403
    assert error(created)["code"] == error(detail)["code"] == "forbidden"
    listed = client.get("/api/v1/exports")
    assert listed.status_code == 403
    assert error(listed)["code"] == "forbidden"
    assert client.get("/api/v1/exports", {"project": project.name}).status_code == 403
    assert not AuditEvent.objects.filter(action="export.download").exists()


def test_outsiders_do_not_see_other_projects_exports(
    reviewed: Reviews,
    project: Project,
    engineer: Persona,
    outsider: Persona,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    export = build(project, engineer, kind="sft")
    client = outsider.client()

    created = create(client, django_capture_on_commit_callbacks)
    detail = client.get(f"/api/v1/exports/{export.pk}")
    download = client.get(f"/api/v1/exports/{export.pk}/download")

    assert created.status_code == detail.status_code == download.status_code == 404
    assert error(download)["code"] == "not_found"
    assert "support-bot" in error(created)["message"]


def test_anonymous_callers_are_refused(
    reviewed: Reviews, project: Project, engineer: Persona
) -> None:
    export = build(project, engineer, kind="sft")

    response = APIClient().get(f"/api/v1/exports/{export.pk}/download")

    assert response.status_code in (401, 403)
    assert error(response)["code"] == "not_authenticated"


# -- downloads -----------------------------------------------------------------------------------


def test_a_download_streams_the_file_and_is_audited(
    reviewed: Reviews, project: Project, engineer: Persona
) -> None:
    export = build(project, engineer, kind="sft", split={"validation": 0.4, "seed": 7})
    entry = export.manifest["files"][0]

    response = engineer.client().get(
        f"/api/v1/exports/{export.pk}/download?part=train", REMOTE_ADDR="10.1.2.3"
    )

    assert response.status_code == 200
    assert response.streaming
    body = b"".join(response.streaming_content)
    assert body == local_path(export, "train.jsonl").read_bytes()
    assert hashlib.sha256(body).hexdigest() == entry["sha256"] == response["X-Content-SHA256"]
    assert response["Content-Length"] == str(entry["bytes"])
    assert response["Content-Type"] == "application/jsonl"
    assert response["Content-Disposition"] == (
        f'attachment; filename="support-bot-export-{export.pk}-train.jsonl"'
    )
    event = AuditEvent.objects.get(action="export.download")
    assert (event.action, event.target_type, event.target_id) == (
        "export.download",
        "export",
        str(export.pk),
    )
    assert event.actor == engineer.user
    assert event.project == project
    assert event.ip_address == "10.1.2.3"
    assert event.metadata == {
        "part": "train",
        "file": "train.jsonl",
        "bytes": entry["bytes"],
        "sha256": entry["sha256"],
        "kind": "sft",
    }


def test_every_download_is_recorded(reviewed: Reviews, project: Project, engineer: Persona) -> None:
    export = build(project, engineer, kind="sft")

    for _ in range(3):
        response = engineer.client().get(f"/api/v1/exports/{export.pk}/download")
        assert response.status_code == 200
        b"".join(response.streaming_content)

    assert AuditEvent.objects.filter(action="export.download").count() == 3


@pytest.mark.parametrize(
    ("query", "code"),
    [("", "part_required"), ("?part=test", "unknown_part")],
)
def test_a_part_must_be_named_when_there_are_several(
    reviewed: Reviews, project: Project, engineer: Persona, query: str, code: str
) -> None:
    export = build(project, engineer, kind="sft", split={"validation": 0.4, "seed": 7})

    response = engineer.client().get(f"/api/v1/exports/{export.pk}/download{query}")

    assert response.status_code == 400
    assert error(response)["code"] == code
    assert "train, validation" in error(response)["message"]
    assert not AuditEvent.objects.filter(action="export.download").exists()


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (JobStatus.PENDING, "export_not_ready"),
        (JobStatus.RUNNING, "export_not_ready"),
        (JobStatus.FAILED, "export_failed"),
    ],
)
def test_an_export_that_is_not_done_cannot_be_downloaded(
    project: Project, engineer: Persona, status: str, code: str
) -> None:
    export = Export.objects.create(
        project=project, kind="sft", status=status, progress=0.42, error="disk full"
    )

    response = engineer.client().get(f"/api/v1/exports/{export.pk}/download")

    assert response.status_code == 409
    assert error(response)["code"] == code
    assert not AuditEvent.objects.filter(action="export.download").exists()


def test_files_gone_from_storage_are_reported(
    reviewed: Reviews, project: Project, engineer: Persona
) -> None:
    export = build(project, engineer, kind="sft")
    local_path(export, "manifest.json").unlink()

    response = engineer.client().get(f"/api/v1/exports/{export.pk}/download")

    assert response.status_code == 410
    assert error(response)["code"] == "export_files_missing"


def test_the_schema_documents_the_export_endpoints(engineer: Persona) -> None:
    schema = engineer.client().get("/api/schema/", HTTP_ACCEPT="application/json")

    paths = json.loads(schema.content)["paths"]
    assert {
        "/api/v1/exports",
        "/api/v1/exports/{export_id}",
        "/api/v1/exports/{export_id}/download",
    } <= set(paths)


def test_any_django_storage_backend_holds_the_files(
    reviewed: Reviews, project: Project, engineer: Persona, settings: Any
) -> None:
    # Not the local folder: files are written to a scratch folder, then uploaded.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    export = build(project, engineer, kind="eval", split={"validation": 0.4, "seed": 7})

    names = sorted(storages["default"].listdir(export.storage_prefix)[1])
    assert names == ["manifest.json", "train.jsonl", "validation.jsonl"]
    entry = export.manifest["files"][1]
    response = engineer.client().get(f"/api/v1/exports/{export.pk}/download?part=validation")
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == entry["sha256"]
    assert len(body.splitlines()) == entry["rows"]
