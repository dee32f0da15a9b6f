"""The one error type of the application: what went wrong, for whom, and what to do about it.

Services, selectors and views raise an `AppError` (or one of the subclasses below) without knowing
who will show it. The API's exception handler (`annotation.api.errors.exception_handler`) answers
with the contract's envelope `{"error": {"code", "message", "details"}}` and the error's status;
the page handler (`annotation.middleware.AppErrorMiddleware`) renders the styled error page for the
status, or a small partial for an htmx request. Nothing here imports Django REST framework.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

Details = Mapping[str, Any] | Sequence[Any]


class AppError(Exception):
    """A request the application refuses, with a message that says what to do instead."""

    status: ClassVar[int] = 400
    code: str = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Details | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: Details = details if details is not None else {}
        self.status_code = status if status is not None else type(self).status

    @property
    def headers(self) -> dict[str, str]:
        """Extra response headers the error calls for (`Retry-After` on 429)."""
        return {}

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)


class Invalid(AppError):
    status = 400
    code = "invalid"


class NotAuthenticated(AppError):
    status = 401
    code = "not_authenticated"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class RateLimited(AppError):
    status = 429
    code = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        retry_after: int | None = None,
        code: str | None = None,
        details: Details | None = None,
    ) -> None:
        super().__init__(message, code=code, details=details)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


class Unavailable(AppError):
    status = 503
    code = "unavailable"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The contract's error envelope."""
    return {"error": {"code": code, "message": message, "details": details or {}}}
