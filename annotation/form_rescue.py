"""A form posted after the session expired is kept, and its author sent to log in and back.

Without this, a page's POST with an expired session is redirected to the login page with
`next=` the POST's own URL: what was typed (a long correction, a guideline) is lost, and after
login the browser GETs an action URL that only takes POST. Here, such a redirect is caught on
its way out: the posted fields (never files, never the CSRF token, at most 64 KB) are kept in the
new session for 30 minutes with the page the form was on (htmx's `HX-Current-URL`, else the
same-origin `Referer`), and the person is sent to log in with `next=` that page. An htmx request
gets `HX-Redirect` so the whole window goes there (not the login page swapped into a fragment).
After login the page loads `static/js/form_rescue.js` (base.html includes it while something is
kept), which asks `/account/rescued-form` for the fields and puts them back into the form that
posts to the same URL, with a note asking to check and send again. Nothing is re-submitted on
the person's behalf.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme

SESSION_KEY = "rescued_form"
MAX_BYTES = 64 * 1024
KEEP_SECONDS = 30 * 60
_NOT_KEPT = {"csrfmiddlewaretoken"}


class FormRescueMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not _sent_to_login(request, response):
            return response
        page = _page_of_form(request)
        if page is None:
            # Not from one of our pages (no same-origin Referer): nothing to come back to.
            return response
        _keep(request, page)
        login_url = redirect_to_login(page).url
        if request.headers.get("HX-Request") == "true":
            answer = HttpResponse(status=204)
            answer["HX-Redirect"] = login_url
            return answer
        return HttpResponseRedirect(login_url)


def _sent_to_login(request: HttpRequest, response: HttpResponseBase) -> bool:
    if request.method != "POST" or request.path.startswith("/api/"):
        return False
    if response.status_code not in (301, 302, 303) or not response.has_header("Location"):
        return False
    user = getattr(request, "user", None)
    if user is None or user.is_authenticated:
        return False
    return urlsplit(response["Location"]).path == settings.LOGIN_URL


def _page_of_form(request: HttpRequest) -> str | None:
    for header in ("HX-Current-URL", "Referer"):
        raw = request.headers.get(header, "")
        if raw and url_has_allowed_host_and_scheme(
            raw, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            parts = urlsplit(raw)
            if parts.path and parts.path != settings.LOGIN_URL:
                return parts.path + (f"?{parts.query}" if parts.query else "")
    return None


def _keep(request: HttpRequest, page: str) -> None:
    if request.FILES:
        return
    fields = {
        name: [value for value in values if isinstance(value, str)]
        for name, values in request.POST.lists()
        if name not in _NOT_KEPT
    }
    if not fields or len(json.dumps(fields)) > MAX_BYTES:
        return
    request.session[SESSION_KEY] = {
        "page": page,
        "action": request.path,
        "fields": fields,
        "kept_at": time.time(),
    }


def rescued_form_take(request: HttpRequest, page: str) -> dict[str, Any] | None:
    """The fields kept for `page` (removed from the session once taken), if any."""
    kept = request.session.get(SESSION_KEY)
    if not isinstance(kept, dict):
        return None
    if time.time() - float(kept.get("kept_at", 0)) > KEEP_SECONDS:
        del request.session[SESSION_KEY]
        return None
    if kept.get("page") != page:
        return None
    del request.session[SESSION_KEY]
    return {"action": kept["action"], "fields": kept["fields"]}
