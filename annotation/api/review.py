"""What the review API views share: the error mapping of the review services."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.errors import ApiError
from annotation.services.leasing import ReviewError


class ReviewAPIView(APIView):
    """Turns the review services' refusals into the API's error envelope."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, ReviewError):
            details = {"errors": [e.as_dict() for e in getattr(exc, "errors", [])]}
            exc = ApiError(exc.code, exc.message, status_code=exc.status_code, details=details)
        elif isinstance(exc, ValidationError):
            details = exc.message_dict if hasattr(exc, "error_dict") else {"errors": exc.messages}
            exc = ApiError(
                "invalid_queue",
                "The queue definition is not valid; fix the fields listed in details.",
                details=details,
            )
        return super().handle_exception(exc)


def not_found(what: str) -> ApiError:
    return ApiError(
        "not_found",
        f"{what} not found, or not visible to you.",
        status_code=status.HTTP_404_NOT_FOUND,
    )
