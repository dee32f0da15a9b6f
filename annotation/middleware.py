"""Input that no view should ever see, refused once for every request.

- A NUL character in the path, a query parameter or a form value: PostgreSQL cannot store or even
  compare it, so it used to end as a 500 wherever it reached a query. Now a 400 naming it.
- API bodies over DATA_UPLOAD_MAX_MEMORY_SIZE (MAX_REQUEST_BYTES): a JSON 413 before anything reads
  them (DRF reads its stream past Django's own size check).
- Chunked bodies (`Transfer-Encoding: chunked`, no Content-Length): Django reads a body only up to
  Content-Length, so a chunked body looked empty. When the server has already undone the chunking
  (gunicorn says so with `wsgi.input_terminated`; an ASGI server always does), the body is read
  here, up to the limit; a server that leaves the chunks on the socket (runserver) gets a 411
  asking for a Content-Length.

JSON bodies are checked by the API's parser (annotation/api/parsers.py) and ingestion's decoder.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.wsgi import LimitedStream
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.defaults import page_not_found, permission_denied
from django_htmx.http import reswap, retarget

from annotation.errors import AppError, Forbidden, NotFound, error_body
from annotation.schemas.safe_json import printable

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_NUL_MESSAGE = "contains a NUL character (%00 or \\u0000), which cannot be stored; remove it."


class InputHygieneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.refusal(request) or self.get_response(request)

    def refusal(self, request: HttpRequest) -> HttpResponse | None:
        if "\x00" in request.path:
            return _bad_input(request, "path", f"The URL path {_NUL_MESSAGE}", status=400)
        name = _first_with_nul(request.GET.lists())
        if name is not None:
            return _bad_input(
                request, name, f"The query parameter `{name}` {_NUL_MESSAGE}", status=400
            )
        refused = _read_chunked(request) or _check_size(request)
        if refused is not None:
            return refused
        if request.method in ("POST", "PUT", "PATCH") and not _is_api(request):
            return _check_form(request)
        return None


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _first_with_nul(pairs: Iterable[tuple[str, list[str]]]) -> str | None:
    for key, values in pairs:
        if "\x00" in key or any("\x00" in value for value in values if isinstance(value, str)):
            return printable(key)
    return None


def _limit() -> int | None:
    limit: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit


def _too_large(request: HttpRequest, size: str) -> HttpResponse:
    limit = _limit()
    return _bad_input(
        request,
        "body",
        f"The body ({size}) is larger than the {limit:,} bytes this server accepts "
        "(MAX_REQUEST_BYTES); send less per request, e.g. fewer items in a batch.",
        status=413,
        code="too_large",
        details={"max_bytes": limit},
    )


def _check_size(request: HttpRequest) -> HttpResponse | None:
    # Only the API: a form upload's files do not count against the limit (Django's rule), and
    # form posts over it are answered below when their fields are read.
    limit = _limit()
    if limit is None or not _is_api(request):
        return None
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length > limit:
        return _too_large(request, f"{length:,} bytes")
    return None


def _read_chunked(request: HttpRequest) -> HttpResponse | None:
    meta = request.META
    chunked = "chunked" in str(meta.get("HTTP_TRANSFER_ENCODING", "")).lower()
    if not chunked or meta.get("CONTENT_LENGTH"):
        return None
    stream = meta.get("wsgi.input")
    terminated = bool(meta.get("wsgi.input_terminated"))
    if isinstance(request, ASGIRequest):
        # An ASGI server hands over the body already undone: Django has spooled it whole.
        stream, terminated = request._stream, True
    if stream is None or not terminated:
        return _bad_input(
            request,
            "body",
            "This server cannot read a chunked body (Transfer-Encoding: chunked); "
            "send it with a Content-Length header.",
            status=411,
            code="length_required",
        )
    limit = _limit()
    body = stream.read() if limit is None else stream.read(limit + 1)
    if limit is not None and len(body) > limit:
        return _too_large(request, "chunked, more than that")
    # Django and DRF both size the body by Content-Length: give them the one just read.
    meta["CONTENT_LENGTH"] = str(len(body))
    request._stream = LimitedStream(io.BytesIO(body), len(body))  # type: ignore[assignment]
    return None


def _check_form(request: HttpRequest) -> HttpResponse | None:
    if request.content_type not in _FORM_TYPES:
        return None
    try:
        name = _first_with_nul(request.POST.lists())
    except RequestDataTooBig:
        return _too_large(request, "form fields")
    if name is None:
        return None
    return _bad_input(request, name, f"The field `{name}` {_NUL_MESSAGE}", status=400)


def _bad_input(
    request: HttpRequest,
    field: str,
    message: str,
    *,
    status: int,
    code: str = "invalid_text",
    details: dict[str, object] | None = None,
) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(
            error_body(code, message, {"field": field, **(details or {})}), status=status
        )
    context = {"field": field, "message": message, "status": status}
    if request.headers.get("HX-Request") == "true":
        # The same message as a fragment, put at the top of the page (htmx swaps 400 and 413,
        # see base.html) whatever the request targeted, so the form stays as it was.
        response = render(request, "bad_input.html#message", context, status=status)
        return reswap(retarget(response, "#main"), "afterbegin")
    return render(request, "bad_input.html", context, status=status)


class AppErrorMiddleware:
    """The page handler of `annotation.errors.AppError`: the one place a refusal becomes a page.

    404 and 403 (and Django's own Http404 and PermissionDenied) render the styled 404/403 pages,
    which say nothing more than the message; other statuses render the "not accepted" page with the message, or, for an
    htmx request, the message as a fragment at the top of the page so the form stays as it was.
    API views never get here: their refusals go through `annotation.api.errors`.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if _is_api(request):
            return None
        response: HttpResponse
        if isinstance(exception, Http404 | NotFound):
            message = exception.message if isinstance(exception, NotFound) else str(exception)
            response = page_not_found(request, Http404(message))
        elif isinstance(exception, PermissionDenied | Forbidden):
            message = exception.message if isinstance(exception, Forbidden) else str(exception)
            response = permission_denied(request, PermissionDenied(message))
        elif isinstance(exception, AppError):
            field = ""
            if isinstance(exception.details, Mapping) and exception.details:
                field = str(next(iter(exception.details)))
            response = _bad_input(
                request,
                field,
                exception.message,
                status=exception.status_code,
                code=exception.code,
                details=dict(exception.details) if isinstance(exception.details, Mapping) else None,
            )
            for name, value in exception.headers.items():
                response[name] = value
        else:
            return None
        # The same URL answers a full page or an htmx partial: caches must keep them apart.
        patch_vary_headers(response, ("HX-Request",))
        return response
