"""Refusals of the lead and export tools' pages as answers rather than exceptions: a NotFound or
Http404 becomes Django's styled 404 page and a Forbidden or PermissionDenied its 403 page, with
their messages, returned through the page's own decorators, so `htmx_page` still marks them as
varying on HX-Request (a cached 404 partial must not stand in for a full page)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase
from django.views.defaults import page_not_found, permission_denied

from annotation.errors import Forbidden, NotFound

P = ParamSpec("P")


def refusals_as_http(view: Callable[P, HttpResponseBase]) -> Callable[P, HttpResponseBase]:
    """Answer NotFound/Http404 with the 404 page and Forbidden/PermissionDenied with the 403 page."""

    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        request: Any = args[0]
        assert isinstance(request, HttpRequest)
        try:
            return view(*args, **kwargs)
        except NotFound as error:
            return page_not_found(request, Http404(error.message))
        except Http404 as error:
            return page_not_found(request, error)
        except Forbidden as error:
            return permission_denied(request, PermissionDenied(error.message))
        except PermissionDenied as error:
            return permission_denied(request, error)

    return wrapped
