"""``manage.py export``: build, copy out, fetch by id, and refuse with a reason."""

from __future__ import annotations

import hashlib
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from annotation.models import AuditEvent, Export, JobStatus, Project
from tests.conftest import Persona
from tests.exports.conftest import Reviews, build
from tests.exports.samples import read_jsonl


@pytest.fixture
def reviewed(reviews: Reviews) -> Reviews:
    for n in range(6):
        reviews.item(f"Question {n}: mail jane{n}@example.com", annotations=[{"verdict": "good"}])
    reviews.item("rejected", annotations=[{"verdict": "bad"}])
    return reviews


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("export", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_builds_an_export_and_copies_it_out(
    reviewed: Reviews, engineer: Persona, tmp_path: Path
) -> None:
    out, err = run(
        "--project",
        "support-bot",
        "--kind",
        "sft",
        "--redact-pii",
        "--validation",
        "0.5",
        "--seed",
        "7",
        "--queue",
        str(reviewed.queue.pk),
        "--user",
        "engineer",
        "--output",
        str(tmp_path / "data"),
    )

    export = Export.objects.get()
    assert out.splitlines()[-1] == str(export.pk)
    assert "6 rows from 7 reviewed items" in out
    assert "Excluded: rejected_without_correction: 1" in out
    assert "Redacted: email: 6" in out
    assert "100% of 7 items, 6 rows" in err
    assert export.status == JobStatus.DONE
    assert export.created_by == engineer.user
    manifest = json.loads((tmp_path / "data" / "manifest.json").read_text())
    assert manifest == export.manifest
    copied = 0
    for entry in manifest["files"]:
        data = (tmp_path / "data" / entry["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        copied += len(read_jsonl(tmp_path / "data" / entry["name"]))
    assert copied == 6
    assert b"@example.com" not in b"".join(
        (tmp_path / "data" / e["name"]).read_bytes() for e in manifest["files"]
    )
    assert AuditEvent.objects.filter(actor=engineer.user, action="export.download").count() == 2


def test_it_fetches_a_finished_export_by_id(
    reviewed: Reviews, project: Project, engineer: Persona, tmp_path: Path
) -> None:
    export = build(project, engineer, kind="annotations", format="csv")

    out, _ = run("--id", str(export.pk), "--output", str(tmp_path))

    assert out.splitlines()[-1] == str(export.pk)
    assert (tmp_path / "all.csv").read_bytes().startswith(b"annotation_id,request_id")
    assert AuditEvent.objects.get(action="export.download").actor is None


def test_it_hands_the_build_to_a_worker_when_asked(reviewed: Reviews) -> None:
    out, _ = run("--project", "support-bot", "--kind", "eval", "--background")

    export = Export.objects.get()
    assert out.splitlines()[-1] == str(export.pk)
    assert "queued" in out
    assert export.task_id


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "sft"], "Give --project and --kind"),
        (["--project", "nope", "--kind", "sft"], "No project named 'nope'"),
        (
            ["--project", "support-bot", "--kind", "sft", "--min-agreement", "3"],
            "filters.min_agreement: 3.0 is not a share",
        ),
        (
            ["--project", "support-bot", "--kind", "sft", "--user", "annotator"],
            "annotator is not a lead or engineer of support-bot",
        ),
        (["--id", "999999"], "No export 999999"),
        (["--project", "support-bot", "--kind", "sft", "--user", "ghost"], "No user named 'ghost'"),
    ],
)
def test_it_refuses_with_a_reason(
    reviewed: Reviews, annotator: Persona, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_it_refuses_to_copy_an_export_that_is_not_done(project: Project, tmp_path: Path) -> None:
    export = Export.objects.create(project=project, kind="sft", status=JobStatus.RUNNING)

    with pytest.raises(CommandError, match=f"Export {export.pk} is running"):
        run("--id", str(export.pk), "--output", str(tmp_path))
