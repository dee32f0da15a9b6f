"""Who may open a page: the page side of `annotation.selectors.access`.

    @htmx_page
    @project_page(LEADS)          # the URL names the project as `name`
    @require_GET
    def alerts(request, access: ProjectAccess) -> HttpResponse: ...

    @queue_page(READERS)          # the URL names the queue as `queue_id`
    def progress(request, access: QueueAccess) -> HttpResponse: ...

An anonymous visitor is sent to log in (and back); a member without the role gets the 403 page
naming the role; anyone else the 404 page, as if the project or queue did not exist. The view
receives the caller's standing as `access` instead of the URL's `name` or `queue_id`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseBase

from annotation.models import Role
from annotation.selectors.access import MEMBERS, person_id, project_access, queue_for

View = Callable[..., HttpResponseBase]


def _login(request: HttpRequest) -> HttpResponseBase:
    return redirect_to_login(request.get_full_path())


def person_page(view: View) -> View:
    """A page for any signed-in person (their own things: home, tokens, my annotations)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if person_id(request.user) is None:
            return _login(request)
        return view(request, *args, **kwargs)

    wrapped.access_roles = MEMBERS  # type: ignore[attr-defined]
    return wrapped


def project_page(roles: Iterable[Role] = MEMBERS) -> Callable[[View], View]:
    """A page of the project named by the URL's `name`, for callers holding one of `roles`."""
    roles = tuple(roles)

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, name: str, **kwargs: Any) -> HttpResponseBase:
            if person_id(request.user) is None:
                return _login(request)
            access = project_access(request.user, name, roles)
            return view(request, *args, access=access, **kwargs)

        wrapped.access_roles = roles  # type: ignore[attr-defined]
        return wrapped

    return decorate


def queue_page(roles: Iterable[Role] = MEMBERS) -> Callable[[View], View]:
    """A page of the queue named by the URL's `queue_id`, for callers holding one of `roles`.

    Annotators reach a queue only when assigned to it (see `selectors.access.queue_access`).
    """
    roles = tuple(roles)

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(
            request: HttpRequest, *args: Any, queue_id: int, **kwargs: Any
        ) -> HttpResponseBase:
            if person_id(request.user) is None:
                return _login(request)
            access = queue_for(request.user, queue_id, roles)
            return view(request, *args, access=access, **kwargs)

        wrapped.access_roles = roles  # type: ignore[attr-defined]
        return wrapped

    return decorate
