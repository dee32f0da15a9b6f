"""The API's exception handler: every refusal answers {"error": {"code", "message", "details"}}.

Services and selectors raise `annotation.errors.AppError`; DRF's own exceptions (authentication,
parsing, serializer validation, throttling) and Django's `ValidationError` are mapped here too, so
no view maps errors itself.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from annotation.errors import AppError, error_body

_MESSAGES: dict[type[Exception], tuple[str, str]] = {
    exceptions.NotAuthenticated: (
        "not_authenticated",
        "Send credentials: 'Authorization: Bearer <project key>' for ingestion, "
        "'Authorization: Token <user token>' for the rest.",
    ),
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, AppError):
        return Response(exc.body(), exc.status_code, headers=exc.headers)
    if isinstance(exc, DjangoValidationError):
        # A model's own validation, raised by a service; the view names what was invalid.
        details = exc.message_dict if hasattr(exc, "error_dict") else {"errors": exc.messages}
        code = getattr(context.get("view"), "invalid_code", "invalid")
        message = "The request is not valid; fix the fields listed in details."
        return Response(error_body(code, message, details), 400)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = error_body(
            "invalid", "The request is not valid; see details for each field.", exc.detail
        )
    elif type(exc) in _MESSAGES:
        code, message = _MESSAGES[type(exc)]
        body = error_body(code, message)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        body = error_body(codes if isinstance(codes, str) else "error", str(detail))
    response.data = body
    return response


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(
        error_body("not_found", f"No API endpoint at {request.path}; see /api/docs/."), status=404
    )


def json_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        error_body("server_error", "Something went wrong on our side; the request was not stored."),
        status=500,
    )
