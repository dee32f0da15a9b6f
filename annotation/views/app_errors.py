"""Pages that call the access module and the services raising `annotation.errors`: a refusal
becomes Django's own 404 or 403 page (the same styled pages every other view gives), so no
AppError reaches the user as a server error."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseBase

from annotation.errors import Forbidden, NotFound

P = ParamSpec("P")


def refusals_as_http(view: Callable[P, HttpResponseBase]) -> Callable[P, HttpResponseBase]:
    """Turn NotFound into Http404 and Forbidden into PermissionDenied, keeping their messages."""

    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        try:
            return view(*args, **kwargs)
        except NotFound as error:
            raise Http404(error.message) from None
        except Forbidden as error:
            raise PermissionDenied(error.message) from None

    return wrapped
