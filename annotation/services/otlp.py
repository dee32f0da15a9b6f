"""OpenTelemetry trace exports stored as interactions, through the same path as the JSON API."""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from annotation.models import Project
from annotation.otlp.genai import convert
from annotation.schemas.decoding import field_and_message, nul_path
from annotation.schemas.ingestion import InteractionIn
from annotation.services.ingestion import interactions_ingest

MAX_REASONS = 10


@dataclass
class OtlpResult:
    spans: int = 0
    created: int = 0
    duplicates: list[str] = field(default_factory=list)
    ignored: int = 0
    rejected: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        """The partial-success message: why spans were rejected, and how many were ignored."""
        parts = self.rejected[:MAX_REASONS]
        if len(self.rejected) > MAX_REASONS:
            parts.append(f"and {len(self.rejected) - MAX_REASONS} more rejected")
        if self.ignored:
            parts.append(f"{self.ignored} spans without gen_ai attributes ignored")
        return "; ".join(parts)


def otlp_ingest(*, project: Project, request: ExportTraceServiceRequest) -> OtlpResult:
    """Store the GenAI spans of one OTLP export as interactions; count the rest."""
    converted = convert(request, project.otlp_request_id_attribute)
    result = OtlpResult(spans=converted.spans, ignored=converted.ignored)
    result.rejected = [reason for _, reason in converted.rejects]
    items: list[InteractionIn] = []
    for _, fields in converted.rows:
        span_id = fields["metadata"]["span_id"]
        nul = nul_path(fields)
        if nul is not None:
            result.rejected.append(f"span {span_id}: {nul} contains a NUL character")
            continue
        try:
            items.append(msgspec.convert(fields, InteractionIn))
        except (msgspec.ValidationError, ValueError) as exc:
            path, message = field_and_message(exc)
            result.rejected.append(f"span {span_id}: {path or 'span'}: {message}")
    stored = interactions_ingest(project=project, items=items)
    result.created = stored.created
    result.duplicates = stored.duplicates
    return result
