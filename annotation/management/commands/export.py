"""``manage.py export``: build an export from the command line, or fetch a finished one.

    manage.py export --project support-bot --kind sft --redact-pii --validation 0.1 --seed 7 \\
        --queue 1 --min-agreement 0.6 --output ./data
    manage.py export --id 42 --output ./data

Builds in this process (progress on stderr) unless ``--background`` hands it to a
Celery worker. ``--output`` copies the files and ``manifest.json`` into a folder, checking
each file's sha256 against the manifest; every copy is recorded in the audit log, like a
download. The export's id is printed alone on the last line.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.exports.manifest import MANIFEST_NAME, encode_manifest
from annotation.exports.rows import KINDS
from annotation.models import Export, JobStatus, Membership, Project
from annotation.schemas.export_request import FORMATS, ExportRequestInvalid
from annotation.selectors.exports import READERS
from annotation.services.exports import ExportError, export_create, export_download, export_run

LIST_OPTIONS = {
    "model": "model",
    "model_version": "model_version",
    "prompt_template": "prompt_template",
    "verdict": "verdicts",
    "reason": "reasons",
    "sampled_by": "sampled_by",
}


class Command(BaseCommand):
    help = "Build an export of reviewed data (sft, preference, eval, retrieval, annotations)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--id", type=int, help="Fetch this finished export (with --output).")
        parser.add_argument("--project", help="Project name.")
        parser.add_argument("--kind", choices=KINDS)
        parser.add_argument("--format", choices=FORMATS, default="jsonl")
        parser.add_argument("--queue", type=int, action="append", help="Queue id (repeatable).")
        parser.add_argument("--since", help="Interactions at or after this ISO 8601 time.")
        parser.add_argument("--until", help="Interactions before this ISO 8601 time.")
        for flag in LIST_OPTIONS:
            parser.add_argument(
                f"--{flag.replace('_', '-')}", action="append", dest=flag, help="Repeatable."
            )
        parser.add_argument("--adjudicated-only", action="store_true")
        parser.add_argument("--agreed-only", action="store_true")
        parser.add_argument("--min-agreement", type=float)
        parser.add_argument("--min-guideline-version", type=int)
        pii = parser.add_mutually_exclusive_group()
        pii.add_argument("--redact-pii", action="store_true", help="Replace PII by [EMAIL]…")
        pii.add_argument("--exclude-pii", action="store_true", help="Leave out rows with PII.")
        parser.add_argument("--no-dedupe", action="store_true", help="Keep duplicate prompts.")
        parser.add_argument("--validation", type=float, help="Validation share, e.g. 0.1.")
        parser.add_argument("--seed", type=int, default=0, help="Seed of the split.")
        parser.add_argument("--system-prompt")
        parser.add_argument("--partial-relevance", choices=["relevant", "irrelevant"])
        parser.add_argument("--user", help="Record the export as this lead's or engineer's.")
        parser.add_argument("--output", help="Copy the files and manifest into this folder.")
        parser.add_argument(
            "--background", action="store_true", help="Let a Celery worker build it."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = self._user(options.get("user"))
        if options["id"] is not None:
            export = Export.objects.select_related("project").filter(pk=options["id"]).first()
            if export is None:
                raise CommandError(f"No export {options['id']}.")
            self._require_member(user, export.project)
        else:
            export = self._create(user, options)
            if options["background"]:
                self.stdout.write(f"Export {export.pk} queued; follow it on /exports/{export.pk}.")
                self.stdout.write(str(export.pk))
                return
            export = self._run(export)
        if export.status != JobStatus.DONE:
            raise CommandError(
                f"Export {export.pk} is {export.status}"
                + (f": {export.error}" if export.error else "; try again once it is done.")
            )
        self._summary(export)
        if options["output"]:
            self._copy(export, Path(options["output"]), user)
        self.stdout.write(str(export.pk))

    def _user(self, username: str | None) -> User | None:
        if not username:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named '{username}'.")
        return user

    def _require_member(self, user: User | None, project: Project) -> None:
        if user is None:
            return
        role = (
            Membership.objects.filter(user=user, project=project)
            .values_list("role", flat=True)
            .first()
        )
        if role not in READERS:
            raise CommandError(
                f"{user.username} is not a lead or engineer of {project.name}; exports are theirs."
            )

    def _create(self, user: User | None, options: dict[str, Any]) -> Export:
        if not options["project"] or not options["kind"]:
            raise CommandError("Give --project and --kind (or --id of an existing export).")
        project = Project.objects.filter(name=options["project"]).first()
        if project is None:
            raise CommandError(f"No project named '{options['project']}'.")
        self._require_member(user, project)
        filters: dict[str, Any] = {}
        if options["queue"]:
            filters["queues"] = options["queue"]
        for name in ("since", "until", "min_agreement", "min_guideline_version"):
            if options[name] is not None:
                filters[name] = options[name]
        for flag, name in LIST_OPTIONS.items():
            if options[flag]:
                filters[name] = options[flag]
        for name in ("adjudicated_only", "agreed_only"):
            if options[name]:
                filters[name] = True
        data: dict[str, Any] = {
            "project": project.name,
            "kind": options["kind"],
            "format": options["format"],
            "filters": filters,
            "redact_pii": options["redact_pii"],
            "exclude_pii": options["exclude_pii"],
        }
        if options["no_dedupe"]:
            data["dedupe"] = False
        if options["validation"] is not None:
            data["split"] = {"validation": options["validation"], "seed": options["seed"]}
        if options["system_prompt"]:
            data["system_prompt"] = options["system_prompt"]
        if options["partial_relevance"]:
            data["partial_relevance"] = options["partial_relevance"]
        try:
            return export_create(
                project=project, created_by=user, data=data, enqueue=options["background"]
            )
        except ExportRequestInvalid as invalid:
            raise CommandError(
                "The export request is not valid:\n"
                + "\n".join(f"  {e['field']}: {e['message']}" for e in invalid.errors)
            ) from None

    def _run(self, export: Export) -> Export:
        shown = [0.0]

        def progress(read: int, total: int, rows: int) -> None:
            now = time.monotonic()
            if now - shown[0] >= 1 or read == total:
                shown[0] = now
                share = read / total if total else 1.0
                self.stderr.write(f"\r{share:4.0%} of {total:,} items, {rows:,} rows", ending="")
                self.stderr.flush()

        try:
            export = export_run(export_id=export.pk, on_progress=progress)
        except Exception:
            self.stderr.write("")
            export.refresh_from_db()
            raise CommandError(f"Export {export.pk} failed: {export.error}") from None
        self.stderr.write("")
        return export

    def _summary(self, export: Export) -> None:
        manifest = export.manifest
        counts = manifest["counts"]
        self.stdout.write(
            f"Export {export.pk}: {export.kind} {export.format}, {counts['rows']:,} rows "
            f"from {counts.get('items', 0):,} reviewed items."
        )
        if manifest.get("empty"):
            self.stdout.write(manifest["message"])
        if counts["excluded"]:
            excluded = ", ".join(f"{k}: {v:,}" for k, v in counts["excluded"].items())
            self.stdout.write(f"Excluded: {excluded}")
        if counts.get("redacted"):
            redacted = ", ".join(f"{k}: {v:,}" for k, v in counts["redacted"].items())
            self.stdout.write(f"Redacted: {redacted}")
        for entry in manifest["files"]:
            self.stdout.write(
                f"  {entry['name']}: {entry['rows']:,} rows, {entry['bytes']:,} bytes, "
                f"sha256 {entry['sha256']}"
            )

    def _copy(self, export: Export, folder: Path, user: User | None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for entry in export.manifest["files"]:
            try:
                download = export_download(export=export, part=entry["part"], actor=user)
            except ExportError as exc:
                raise CommandError(exc.message) from None
            digest = hashlib.sha256()
            target = folder / download.name
            with download.file as source, open(target, "wb") as out:
                while chunk := source.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != download.sha256:
                target.unlink(missing_ok=True)
                raise CommandError(
                    f"{download.name} does not match the sha256 in the manifest; the stored file "
                    "is damaged. Build the export again."
                )
        (folder / MANIFEST_NAME).write_bytes(encode_manifest(export.manifest))
        self.stdout.write(f"Copied {len(export.manifest['files'])} files and manifest to {folder}")
