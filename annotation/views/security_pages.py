"""Security pages: a project's audit log and keys (leads), every person's own API tokens, and the
form kept when a session expired (annotation/form_rescue.py)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from annotation.errors import AppError, NotFound
from annotation.form_rescue import rescued_form_take
from annotation.models.audit import AuditAction, AuditEvent
from annotation.selectors.access import LEADS, ProjectAccess
from annotation.selectors.audit import (
    audit_events_page,
    audit_filters_parse,
    cursor_parse,
)
from annotation.selectors.credentials import (
    credential_state,
    key_for,
    project_keys,
    token_for,
    user_tokens,
)
from annotation.services.credentials import (
    MAX_GRACE_MINUTES,
    MAX_TOKEN_DAYS,
    project_key_revoke,
    project_key_rotate,
    user_token_create,
    user_token_revoke,
    user_token_rotate,
)
from annotation.services.projects import project_key_create
from annotation.views.access import person_page, project_page
from annotation.views.http import htmx_page

AUDIT = "annotation/security/audit.html"
KEYS = "annotation/security/keys.html"
TOKENS = "annotation/security/tokens.html"


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _problem_status(request: HttpRequest, error: AppError) -> int:
    # htmx swaps 400 answers in (base.html's responseHandling) and no other 4xx: a refusal shown
    # in place is a 400 to htmx, its own status to a plain form post.
    return 400 if _is_htmx(request) else error.status_code


# -- audit log ------------------------------------------------------------------------------------


@htmx_page
@project_page(LEADS)
@require_GET
def audit_page(request: HttpRequest, access: ProjectAccess) -> HttpResponse:
    """Search the project's audit log; htmx swaps the results (filters) or appends (more)."""
    problem = ""
    try:
        filters = audit_filters_parse(request.GET)
        after = cursor_parse(request.GET.get("cursor"))
    except AppError as error:
        problem, filters, after = error.message, audit_filters_parse({}), None
    page = audit_events_page(
        AuditEvent.objects.filter(project=access.project), filters, after=after
    )
    query = request.GET.copy()
    query.pop("cursor", None)
    if page.next_cursor:
        query["cursor"] = page.next_cursor
    context: dict[str, Any] = {
        "project": access.project,
        "page": page,
        "filters": filters,
        "actions": AuditAction.choices,
        "problem": problem,
        "more_url": f"{request.path}?{query.urlencode()}" if page.next_cursor else "",
        "since": request.GET.get("since", ""),
        "until": request.GET.get("until", ""),
    }
    if _is_htmx(request):
        partial = "rows" if after is not None else "results"
        return render(request, f"{AUDIT}#{partial}", context, status=400 if problem else 200)
    return render(request, AUDIT, context, status=400 if problem else 200)


# -- project keys ---------------------------------------------------------------------------------


def _keys_page(
    request: HttpRequest, access: ProjectAccess, *, status: int = 200, **extra: Any
) -> HttpResponse:
    keys = list(project_keys(access)[:200])
    context = {
        "project": access.project,
        "keys": [(key, credential_state(key)) for key in keys],
        "max_grace": MAX_GRACE_MINUTES,
        **extra,
    }
    template = f"{KEYS}#keys" if _is_htmx(request) else KEYS
    return render(request, template, context, status=status)


@htmx_page
@project_page(LEADS)
@require_GET
def keys_page(request: HttpRequest, access: ProjectAccess) -> HttpResponse:
    return _keys_page(request, access)


@htmx_page
@project_page(LEADS)
@require_POST
def key_create(request: HttpRequest, access: ProjectAccess) -> HttpResponse:
    name = request.POST.get("name", "").strip()[:100] or "default"
    created = project_key_create(
        project=access.project, name=name, actor=request.user, request=request
    )
    return _keys_page(request, access, status=201, new_secret=created.secret, new_key=created.obj)


def _key_of(request: HttpRequest, access: ProjectAccess, key_id: int) -> Any:
    key, key_access = key_for(request.user, key_id)
    if key_access.project.pk != access.project.pk:
        raise NotFound(f"No project key {key_id} in {access.project.name}.")
    return key


@htmx_page
@project_page(LEADS)
@require_POST
def key_revoke(request: HttpRequest, access: ProjectAccess, key_id: int) -> HttpResponse:
    key = _key_of(request, access, key_id)
    try:
        project_key_revoke(key=key, actor=request.user, request=request)
    except AppError as error:
        return _keys_page(
            request, access, status=_problem_status(request, error), problem=error.message
        )
    return _keys_page(request, access, done=f"Key {key.prefix}… is revoked.")


@htmx_page
@project_page(LEADS)
@require_POST
def key_rotate(request: HttpRequest, access: ProjectAccess, key_id: int) -> HttpResponse:
    key = _key_of(request, access, key_id)
    try:
        grace = int(request.POST.get("grace_minutes") or 0)
    except ValueError:
        grace = -1
    try:
        created = project_key_rotate(
            key=key, actor=request.user, grace_minutes=grace, request=request
        )
    except AppError as error:
        return _keys_page(
            request, access, status=_problem_status(request, error), problem=error.message
        )
    return _keys_page(request, access, status=201, new_secret=created.secret, new_key=created.obj)


# -- the person's own tokens ------------------------------------------------------------------------


def _tokens_page(request: HttpRequest, *, status: int = 200, **extra: Any) -> HttpResponse:
    tokens = list(user_tokens(request.user)[:200])
    context = {
        "tokens": [(token, credential_state(token)) for token in tokens],
        "max_days": MAX_TOKEN_DAYS,
        **extra,
    }
    template = f"{TOKENS}#tokens" if _is_htmx(request) else TOKENS
    return render(request, template, context, status=status)


@htmx_page
@person_page
@require_GET
def tokens_page(request: HttpRequest) -> HttpResponse:
    return _tokens_page(request)


@htmx_page
@person_page
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    raw_days = request.POST.get("expires_in_days", "").strip()
    try:
        days = int(raw_days) if raw_days else None
    except ValueError:
        days = -1
    try:
        created = user_token_create(
            user=request.user,  # type: ignore[arg-type]
            name=request.POST.get("name", ""),
            expires_in_days=days,
            request=request,
        )
    except AppError as error:
        return _tokens_page(request, status=_problem_status(request, error), problem=error.message)
    return _tokens_page(request, status=201, new_secret=created.secret, new_token=created.obj)


@htmx_page
@person_page
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = token_for(request.user, token_id)
    try:
        user_token_revoke(token=token, actor=request.user, request=request)
    except AppError as error:
        return _tokens_page(request, status=_problem_status(request, error), problem=error.message)
    return _tokens_page(request, done=f"Token {token.prefix}… is revoked.")


@htmx_page
@person_page
@require_POST
def token_rotate(request: HttpRequest, token_id: int) -> HttpResponse:
    token = token_for(request.user, token_id)
    try:
        created = user_token_rotate(token=token, actor=request.user, request=request)
    except AppError as error:
        return _tokens_page(request, status=_problem_status(request, error), problem=error.message)
    return _tokens_page(request, status=201, new_secret=created.secret, new_token=created.obj)


# -- a form kept across an expired session ------------------------------------------------------------


@htmx_page
@person_page
@require_GET
def rescued_form(request: HttpRequest) -> HttpResponseBase:
    """The fields kept for `?page=` (once; then they are gone), or 204."""
    kept = rescued_form_take(request, str(request.GET.get("page", ""))[:2000])
    if kept is None:
        return HttpResponse(status=204)
    return JsonResponse(kept)
