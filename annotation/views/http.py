"""HTTP conventions every page shares.

A page that answers an htmx request with a partial and a plain request with the whole page
varies on `HX-Request`: without it a browser or proxy cache could hand the partial to a full
page load (Back, a reopened tab). Every page view carries `htmx_page`, next to the verb check
(`require_GET`, `require_POST`, `require_http_methods`) that answers other verbs with 405.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec

from django.http import HttpResponseBase
from django.utils.cache import patch_vary_headers

P = ParamSpec("P")


def htmx_page(view: Callable[P, HttpResponseBase]) -> Callable[P, HttpResponseBase]:
    """Mark the view's responses as varying on `HX-Request` (full page or partial)."""

    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        response = view(*args, **kwargs)
        patch_vary_headers(response, ("HX-Request",))
        return response

    wrapped.htmx_page = True  # type: ignore[attr-defined]
    return wrapped
