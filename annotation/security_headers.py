"""Response headers Django's SecurityMiddleware does not set.

- `Permissions-Policy`: no camera, microphone, geolocation, payment… for any page (annotators
  read untrusted text; nothing in a page ever needs those).
- `Cache-Control: no-store` on every API answer and every page shown to a signed-in person, and
  on downloads: what a lead or annotator saw (model output, end users' text, exports) is not kept
  by the browser's or a proxy's cache, so Back after logging out, or the next person at a shared
  machine, finds nothing. Static files (whitenoise sets their own caching) are left alone.

Framing (`X-Frame-Options: DENY`, CSP `frame-ancestors 'none'`), `X-Content-Type-Options`,
`Referrer-Policy`, HSTS and the HTTPS redirect are Django's and django-csp's (settings.py).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import add_never_cache_headers


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        policy = getattr(settings, "PERMISSIONS_POLICY", "")
        if policy:
            response.headers.setdefault("Permissions-Policy", policy)
        if _holds_data(request, response):
            add_never_cache_headers(response)
            # add_never_cache_headers says no-cache, no-store, must-revalidate, private.
        return response


def _holds_data(request: HttpRequest, response: HttpResponseBase) -> bool:
    path = request.path
    if path.startswith(settings.STATIC_URL) or path == "/healthz":
        return False
    if path.startswith("/api/"):
        # The schema and the docs' page and script carry no data and may be cached.
        return not (path.startswith("/api/schema/") or path.startswith("/api/docs/"))
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return True
    # Error pages and the login page hold nothing, but the login form's CSRF token must not be
    # served from a cache to someone else either.
    return "Cache-Control" not in response.headers
