"""Erasure end to end: ingestion, checks, review, rollups and an export, then one user forgotten."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from annotation.models import (
    Adjudication,
    Annotation,
    Feedback,
    Flag,
    Interaction,
    Project,
    QueueItem,
    SliceRollup,
)
from annotation.models.audit import AuditEvent
from annotation.models.review import ItemState, Lease
from annotation.services.erasure import privacy_erase
from annotation.services.exports import export_create, export_run
from annotation.services.rollups import rollups_rebuild
from annotation.services.secrets import pseudonymise
from tests.conftest import Persona
from tests.factories import QueueFactory
from tests.privacy.conftest import EMAIL, every_row, interaction, post

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
EVAL_SCHEMA = {"fields": [{"name": "verdict", "type": "choice", "options": ["good", "bad"]}]}


def _ingest(client: APIClient, capture: Any) -> None:
    with capture(execute=True):
        response = post(
            client,
            "/api/v1/interactions",
            {
                "items": [
                    interaction(
                        "req-a1", user_id="u-1", session_id="s-1", response=f"Mail {EMAIL}."
                    ),
                    interaction("req-a2", user_id="u-1", timestamp="2026-11-20T11:30:00Z"),
                    interaction(
                        "req-b1",
                        user_id="u-2",
                        session_id="s-2",
                        messages=[{"role": "user", "content": "Where is my invoice?"}],
                    ),
                ]
            },
        )
        assert response.status_code == 201
        feedback = post(
            client,
            "/api/v1/feedback",
            {
                "items": [
                    {
                        "request_id": "req-a1",
                        "kind": "rating",
                        "value": 0,
                        "scale": "thumbs",
                        "user_id": "u-1",
                    },
                    # Someone else's feedback on u-1's interaction goes with the interaction.
                    {
                        "request_id": "req-a2",
                        "kind": "rating",
                        "value": 1,
                        "scale": "thumbs",
                        "user_id": "u-2",
                    },
                    # u-1's own comment on u-2's interaction goes too; u-2's rating stays.
                    {
                        "request_id": "req-b1",
                        "kind": "comment",
                        "text": "Same for me",
                        "user_id": "u-1",
                    },
                    {
                        "request_id": "req-b1",
                        "kind": "rating",
                        "value": 0,
                        "scale": "thumbs",
                        "user_id": "u-2",
                    },
                ]
            },
        )
        assert feedback.status_code == 201


def _review(project: Project, annotator: Persona, lead: Persona) -> None:
    queue = QueueFactory(project=project, schema=EVAL_SCHEMA, overlap=1)
    for request_id in ("req-a1", "req-b1"):
        item = QueueItem.objects.create(
            queue=queue,
            interaction=Interaction.objects.get(request_id=request_id),
            reasons=["low_rated"],
            inclusion_probability=1.0,
            state=ItemState.DONE,
            annotations_wanted=1,
            annotations_done=1,
            created_at=START,
            updated_at=START,
        )
        Annotation.objects.create(
            item=item,
            annotator=annotator.user,
            values={"verdict": "bad"},
            seconds=3.0,
            created_at=START,
            updated_at=START,
        )
        Lease.objects.create(
            item=item,
            queue=queue,
            annotator=annotator.user,
            state="done",
            leased_at=START,
            expires_at=START + timedelta(minutes=15),
        )
    Adjudication.objects.create(
        item=QueueItem.objects.get(interaction__request_id="req-a1"),
        lead=lead.user,
        values={"verdict": "good"},
    )


def _export(project: Project, lead: Persona) -> Any:
    export = export_create(
        project=project,
        created_by=lead.user,  # type: ignore[arg-type]
        data={"project": project.name, "kind": "eval", "format": "jsonl"},
        enqueue=False,
    )
    export_run(export_id=export.pk)
    export.refresh_from_db()
    return export


def _rows(export: Any) -> list[dict[str, Any]]:
    from annotation.exports.storage import ExportStore

    store = ExportStore(export.storage_prefix)
    text = (store.staging_dir / export.manifest["files"][0]["name"]).read_text()
    return [json.loads(line) for line in text.splitlines() if line]


def _stored_manifest(export: Any) -> dict[str, Any]:
    from annotation.exports.storage import ExportStore

    manifest = ExportStore(export.storage_prefix).manifest()
    assert manifest is not None
    return manifest


def _volume(project: Project) -> int:
    return SliceRollup.objects.filter(project=project).aggregate(n=Sum("interactions"))["n"] or 0


def test_erasing_a_user_removes_them_everywhere_and_marks_the_old_export(
    project: Project,
    ingest_client: APIClient,
    annotator: Persona,
    lead: Persona,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _ingest(ingest_client, django_capture_on_commit_callbacks)
    _review(project, annotator, lead)
    rollups_rebuild(
        project=project, since=START - timedelta(days=1), until=START + timedelta(days=1)
    )
    old_export = _export(project, lead)
    assert {row["id"] for row in _rows(old_export)} == {"req-a1", "req-b1"}
    assert _volume(project) == 3
    flags_on_u1 = Flag.objects.filter(interaction__request_id__in=["req-a1", "req-a2"]).count()
    assert flags_on_u1 >= 1  # the e-mail address in req-a1's response

    response = post(
        lead.client(), "/api/v1/privacy/erase", {"project": project.name, "user_id": "u-1"}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["erased"] == {
        "interactions": 2,
        "feedback": 3,
        "flags": flags_on_u1,
        "queue_items": 1,
        "leases": 1,
        "annotations": 1,
        "adjudications": 1,
    }
    assert body["exports_marked"] == [old_export.pk]
    assert body["rollup_hours"] == 2
    # Nothing of u-1 left in any table: not their pseudonym, not their request ids.
    assert not Interaction.objects.filter(user_id=pseudonymise("u-1")).exists()
    assert not Feedback.objects.filter(user_id=pseudonymise("u-1")).exists()
    dump = every_row()
    for trace in (pseudonymise("u-1"), "req-a1", "req-a2", "Same for me", EMAIL, '"u-1"'):
        assert trace not in dump
    # u-2 keeps their interaction, their rating and their reviewed item.
    assert list(Interaction.objects.values_list("request_id", flat=True)) == ["req-b1"]
    assert Feedback.objects.get().user_id == pseudonymise("u-2")
    assert QueueItem.objects.get().interaction.request_id == "req-b1"
    # The rollups count what is left.
    assert _volume(project) == 1
    # The old export is marked with what was erased, in the database and in its manifest file.
    old_export.refresh_from_db()
    assert old_export.manifest["erased"]["interactions"] == 1
    assert old_export.manifest["erased"]["rows"] == 1
    assert _stored_manifest(old_export)["erased"]["interactions"] == 1
    # A later export never contains them.
    new_export = _export(project, lead)
    assert {row["id"] for row in _rows(new_export)} == {"req-b1"}
    assert "erased" not in new_export.manifest
    # The audit log says who erased what, by counts, without the id.
    event = AuditEvent.objects.get(action="privacy.erase")
    assert event.actor == lead.user
    assert event.metadata["erased"]["interactions"] == 2
    assert "u-1" not in json.dumps(event.metadata)


def test_an_unknown_user_gives_zero_counts(project: Project, lead: Persona) -> None:
    response = post(
        lead.client(), "/api/v1/privacy/erase", {"project": project.name, "user_id": "nobody"}
    )

    assert response.status_code == 200
    assert set(response.json()["erased"].values()) == {0}
    assert response.json()["exports_marked"] == []


def test_it_erases_by_session_id(project: Project, ingest_client: APIClient, lead: Persona) -> None:
    post(
        ingest_client,
        "/api/v1/interactions",
        {
            "items": [
                interaction("req-1", session_id="s-9", user_id=""),
                interaction("req-2", session_id="s-9", user_id="u-3"),
                interaction("req-3", session_id="s-10", user_id="u-3"),
            ]
        },
    )

    response = post(
        lead.client(), "/api/v1/privacy/erase", {"project": project.name, "session_id": "s-9"}
    )

    assert response.status_code == 200
    assert response.json()["erased"]["interactions"] == 2
    assert list(Interaction.objects.values_list("request_id", flat=True)) == ["req-3"]


def test_a_user_id_hashed_under_the_previous_key_is_erased_during_a_rotation(
    project: Project, ingest_client: APIClient, lead: Persona, settings: Any
) -> None:
    settings.USER_ID_HASH_KEY = "old-key"
    post(ingest_client, "/api/v1/interactions", interaction("req-old", user_id="u-7"))
    settings.USER_ID_HASH_KEY = "new-key"
    settings.USER_ID_HASH_KEY_PREVIOUS = "old-key"
    post(ingest_client, "/api/v1/interactions", interaction("req-new", user_id="u-7"))
    assert Interaction.objects.get(request_id="req-old").user_id == pseudonymise("u-7", "old-key")
    assert Interaction.objects.get(request_id="req-new").user_id == pseudonymise("u-7")

    response = post(
        lead.client(), "/api/v1/privacy/erase", {"project": project.name, "user_id": "u-7"}
    )

    assert response.json()["erased"]["interactions"] == 2
    assert not Interaction.objects.exists()


def test_without_the_previous_key_only_the_current_pseudonym_matches(
    project: Project, ingest_client: APIClient, lead: Persona, settings: Any
) -> None:
    settings.USER_ID_HASH_KEY = "old-key"
    post(ingest_client, "/api/v1/interactions", interaction("req-old", user_id="u-7"))
    settings.USER_ID_HASH_KEY = "new-key"
    settings.USER_ID_HASH_KEY_PREVIOUS = ""

    privacy_erase(project=project, actor=lead.user, user_id="u-7")

    assert list(Interaction.objects.values_list("request_id", flat=True)) == ["req-old"]


def test_it_deletes_a_large_user_in_bounded_batches(
    project: Project, ingest_client: APIClient, lead: Persona
) -> None:
    post(
        ingest_client,
        "/api/v1/interactions",
        {"items": [interaction(f"req-{n}", user_id="u-big") for n in range(5)]},
    )

    with CaptureQueriesContext(connection) as queries:
        erasure = privacy_erase(project=project, actor=lead.user, user_id="u-big", batch_size=2)

    deletes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('DELETE FROM "annotation_interaction"')
    ]
    assert erasure.as_dict()["interactions"] == 5
    assert len(deletes) == 3  # 2 + 2 + 1
    assert not Interaction.objects.exists()


def test_it_erases_only_in_the_named_project(
    project: Project, ingest_client: APIClient, lead: Persona, other_keyed_project: Any
) -> None:
    post(ingest_client, "/api/v1/interactions", interaction("req-1", user_id="u-1"))
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {other_keyed_project.key}")
    post(other, "/api/v1/interactions", interaction("req-1", user_id="u-1"))

    privacy_erase(project=project, actor=lead.user, user_id="u-1")

    assert list(Interaction.objects.values_list("project__name", flat=True)) == ["other-bot"]


def test_feedback_waiting_for_its_interaction_is_erased_with_its_user(
    project: Project, ingest_client: APIClient, lead: Persona
) -> None:
    post(
        ingest_client,
        "/api/v1/feedback",
        {"request_id": "later", "kind": "comment", "text": "hi", "user_id": "u-1"},
    )

    erasure = privacy_erase(project=project, actor=lead.user, user_id="u-1")

    assert erasure.as_dict()["feedback"] == 1
    assert not Feedback.objects.exists()
    assert timezone.now()


def test_stored_comment_themes_of_the_erased_hours_are_dropped(
    project: Project, ingest_client: APIClient, lead: Persona
) -> None:
    from annotation.models import InsightReport, InsightReportKind

    post(ingest_client, "/api/v1/interactions", interaction("req-1", user_id="u-1"))
    window = {"requested_at": START, "state": "done", "body": {"themes": ["Same for me"]}}
    covering = InsightReport.objects.create(
        project=project,
        kind=InsightReportKind.THEMES,
        since=START - timedelta(days=7),
        until=START + timedelta(days=1),
        **window,
    )
    earlier = InsightReport.objects.create(
        project=project,
        kind=InsightReportKind.THEMES,
        since=START - timedelta(days=30),
        until=START - timedelta(days=20),
        **window,
    )
    slices = InsightReport.objects.create(
        project=project,
        kind=InsightReportKind.SLICES,
        since=START - timedelta(days=7),
        until=START + timedelta(days=1),
        **window,
    )

    erasure = privacy_erase(project=project, actor=lead.user, user_id="u-1")

    assert erasure.as_dict()["insight_reports"] == 1
    remaining = set(InsightReport.objects.values_list("pk", flat=True))
    assert remaining == {earlier.pk, slices.pk}
    assert covering.pk not in remaining
