"""Reviewed items crafted for the export tests, and export helpers.

``Reviews`` builds a queue with a label schema, then items in state done, each with its
interaction, annotations (values, annotator, guideline version, times) and, optionally,
a lead's adjudication: exactly what the export reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client

from annotation.exports.storage import ExportStore
from annotation.models import Adjudication, Annotation, Export, Guideline, Project, QueueItem
from annotation.models.review import ItemState, Queue
from annotation.services.exports import export_create, export_run
from tests.conftest import Persona
from tests.exports.samples import read_csv, read_jsonl, read_parquet
from tests.factories import InteractionFactory, QueueFactory, UserFactory

START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
SYSTEM = {"role": "system", "content": "You are the support agent of Cloudnest."}

EXPORT_SCHEMA: dict[str, Any] = {
    "fields": [
        {
            "name": "verdict",
            "type": "choice",
            "options": ["good", "bad"],
            "required": True,
            "agreement": True,
        },
        {"name": "reasons", "type": "multi_choice", "options": "taxonomy"},
        {"name": "rating", "type": "likert", "min": 1, "max": 5},
        {"name": "correction", "type": "correction"},
        {"name": "comment", "type": "text"},
        {"name": "relevance", "type": "relevance"},
        {"name": "preference", "type": "pairwise"},
    ]
}


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    """Every test's exports in its own folder."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


def conversation(question: str, *, system: bool = True) -> list[dict[str, str]]:
    return [*([SYSTEM] if system else []), {"role": "user", "content": question}]


class Reviews:
    """Builds reviewed (done) items of one queue."""

    def __init__(self, project: Project, schema: dict[str, Any] | None = None, **queue: Any):
        self.project = project
        self.queue: Queue = QueueFactory(
            project=project, schema=schema or EXPORT_SCHEMA, overlap=1, **queue
        )
        self.guidelines: dict[int, Guideline] = {}
        self.users: dict[str, AbstractBaseUser] = {}
        self.count = 0

    def guideline(self, version: int) -> Guideline:
        if version not in self.guidelines:
            self.guidelines[version] = Guideline.objects.get_or_create(
                project=self.project, version=version, defaults={"text": f"v{version}"}
            )[0]
        return self.guidelines[version]

    def user(self, name: str) -> AbstractBaseUser:
        if name not in self.users:
            found = get_user_model().objects.filter(username=name).first()
            self.users[name] = found or UserFactory(username=name)
        return self.users[name]

    def item(
        self,
        question: str = "How do I reset my password?",
        response: str = "Open Settings, then Security.",
        *,
        annotations: Sequence[dict[str, Any]] = ({"verdict": "good"},),
        annotators: Sequence[str] = (),
        guideline: int | Sequence[int] | None = 3,
        adjudication: dict[str, Any] | None = None,
        messages: list[dict[str, Any]] | str | None = None,
        state: str = ItemState.DONE,
        reasons: Sequence[str] = ("low_rated",),
        inclusion_probability: float = 1.0,
        **interaction: Any,
    ) -> QueueItem:
        """One item with its interaction and annotations, oldest first."""
        self.count += 1
        n = self.count
        interaction.setdefault("timestamp", START + timedelta(minutes=n))
        target = InteractionFactory(
            project=self.project,
            request_id=interaction.pop("request_id", f"req-{self.queue.pk}-{n}"),
            messages=messages if messages is not None else conversation(question),
            response=response,
            **interaction,
        )
        item = QueueItem.objects.create(
            queue=self.queue,
            interaction=target,
            reasons=list(reasons),
            inclusion_probability=inclusion_probability,
            state=state,
            annotations_wanted=max(len(annotations), 1),
            annotations_done=len(annotations),
            created_at=START,
            updated_at=START,
        )
        versions = (
            list(guideline) if isinstance(guideline, Sequence) else [guideline] * len(annotations)
        )
        for i, values in enumerate(annotations):
            name = annotators[i] if i < len(annotators) else f"ann{i + 1}"
            version = versions[i]
            created = START + timedelta(minutes=n, seconds=i)
            Annotation.objects.create(
                item=item,
                annotator=self.user(name),
                values=values,
                guideline=self.guideline(version) if version else None,
                seconds=12.5 + i,
                revision=1 + i % 2,
                created_at=created,
                updated_at=created + timedelta(seconds=30),
            )
        if adjudication is not None:
            Adjudication.objects.create(item=item, lead=self.user("lead1"), values=adjudication)
        return item


@pytest.fixture
def reviews(project: Project) -> Reviews:
    return Reviews(project, name="weekly")


def build(
    project: Project, by: Persona | None = None, *, streaming: bool | None = None, **request: Any
) -> Export:
    """Request and run an export in this process; returns it done (or failed)."""
    export = export_create(
        project=project,
        created_by=by.user if by else None,  # type: ignore[arg-type]
        data={"project": project.name, **request},
        enqueue=False,
    )
    try:
        export_run(export_id=export.pk, streaming=streaming)
    finally:
        export.refresh_from_db()
    return export


def rows(export: Export, part: str | None = None) -> list[dict[str, Any]]:
    """The rows of one file of a done export, decoded by its format."""
    files = export.manifest["files"]
    entry = files[0] if part is None else next(f for f in files if f["part"] == part)
    path = local_path(export, entry["name"])
    if export.format == "jsonl":
        return read_jsonl(path)
    if export.format == "csv":
        return read_csv(path, export.kind)
    return read_parquet(path, export.kind)


def local_path(export: Export, name: str) -> Path:
    store = ExportStore(export.storage_prefix)
    return store.staging_dir / name


def all_bytes(export: Export) -> Iterator[bytes]:
    for entry in export.manifest["files"]:
        yield local_path(export, entry["name"]).read_bytes()
    yield local_path(export, "manifest.json").read_bytes()


def browser(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


def manifest_on_disk(export: Export) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(local_path(export, "manifest.json").read_text())
    return data
