"""OpenAPI components generated from the msgspec structs that validate ingestion.

drf-spectacular documents serializers; the bulk endpoints validate with msgspec instead, so their
request schemas come from `msgspec.json.schema_components` and are merged into the document here.
"""

from __future__ import annotations

from typing import Any

import msgspec

from annotation.schemas.ingestion import FeedbackBatch, FeedbackIn, InteractionBatch, InteractionIn

_REF = "#/components/schemas/{name}"
(_interaction, _interaction_batch, _feedback, _feedback_batch), COMPONENTS = (
    msgspec.json.schema_components(
        [InteractionIn, InteractionBatch, FeedbackIn, FeedbackBatch], ref_template=_REF
    )
)

INTERACTION_REQUEST: dict[str, Any] = {"oneOf": [_interaction, _interaction_batch]}
FEEDBACK_REQUEST: dict[str, Any] = {"oneOf": [_feedback, _feedback_batch]}


def add_msgspec_components(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular post-processing hook: add the msgspec-generated components."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in COMPONENTS.items():
        schemas.setdefault(name, schema)
    return result
