"""The published OpenAPI document: msgspec request schemas, authentication schemes, errors.

drf-spectacular documents serializers; the bulk endpoints validate with msgspec instead, so their
request schemas come from `msgspec.json.schema_components` and are merged into the document here.
The two credentials the API takes are declared as security schemes (`Token` for people, `Bearer`
for ingestion keys), and the error answers every operation can give are declared once, here, with
the `{"error": {"code", "message", "details"}}` envelope.
"""

from __future__ import annotations

from typing import Any

import msgspec
from drf_spectacular.extensions import OpenApiAuthenticationExtension

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


class UserTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Token <token>`: a person's token (`manage.py adduser` prints it)."""

    target_class = "annotation.api.authentication.UserTokenAuthentication"
    name = "Token"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A user token, sent as `Authorization: Token <token>`; "
            "`manage.py adduser` prints one. Acts with the user's roles in each project.",
        }


class ProjectKeyScheme(OpenApiAuthenticationExtension):
    """`Authorization: Bearer <key>`: a project's ingestion key (`createproject` prints it)."""

    target_class = "annotation.api.authentication.ProjectKeyAuthentication"
    name = "Bearer"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A project's ingestion key, sent as `Authorization: Bearer <key>`; "
            "`manage.py createproject` prints it. Sends interactions and feedback, and reads "
            "back that project's interactions.",
        }


class WidgetKeyScheme(OpenApiAuthenticationExtension):
    """`Authorization: Bearer <widget key>`: a public key for the feedback widget."""

    target_class = "annotation.api.authentication.WidgetKeyAuthentication"
    name = "WidgetKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A project's public widget key, sent as `Authorization: Bearer <key>` "
            "from a page on one of the key's allowed origins. Sends end users' feedback only.",
        }


ERROR_SCHEMA: dict[str, Any] = {"$ref": _REF.format(name="ErrorEnvelope")}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_SCHEMA}}}


def add_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular post-processing hook: declare the errors any operation can answer.

    The views declare their own refusals (403, 404, 409, …) with their own descriptions; these
    are the answers that come from the request's shape alone, whatever the view:
    401 for missing or unknown credentials, 400 for a body or parameter that cannot be read,
    404 for an id in the path that is not there (or not visible to the caller), and 413/415 for
    a body too large or not JSON; and for operations that name a project or an object of one,
    the access rule's answers (404 outside the project, 403 for a member without the role).
    Every one has the error envelope as its body.
    """
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            parameters = operation.get("parameters", [])
            has_body = "requestBody" in operation
            added = {
                "401": "Missing, malformed or unknown credentials.",
            }
            if has_body or parameters:
                added["400"] = "A body or parameter that cannot be read, or is not valid."
            names_project = any(p.get("name") == "project" for p in parameters) or has_body
            if any(p.get("in") == "path" for p in parameters) or "{" in path or names_project:
                # selectors.access: not a member of the object's project, or no such object.
                added["404"] = "Not found, or not visible to you."
                if not path.startswith(
                    ("/api/v1/interactions", "/api/v1/feedback", "/api/v1/otlp")
                ):
                    added["403"] = "A member of the project without the role this needs."
            if has_body:
                added["413"] = "Body larger than the size limit."
                added["415"] = "Body not sent as application/json."
            for status_code, description in added.items():
                responses.setdefault(status_code, _error(description))
    return result
