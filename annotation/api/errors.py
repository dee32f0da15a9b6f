"""One JSON error shape for the whole API: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ApiError(exceptions.APIException):
    def __init__(
        self,
        code: str,
        message: str,
        *,
        status_code: int = status.HTTP_400_BAD_REQUEST,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.message = message
        self.details = details or {}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


_MESSAGES: dict[type[Exception], tuple[str, str]] = {
    exceptions.NotAuthenticated: (
        "not_authenticated",
        "Send credentials: 'Authorization: Bearer <project key>' for ingestion, "
        "'Authorization: Token <user token>' for the rest.",
    ),
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApiError):
        return Response(error_body(exc.error_code, exc.message, exc.details), exc.status_code)
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
