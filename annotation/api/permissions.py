"""Who may call an API endpoint at all; which project objects they reach is the access selector's.

Each view names its callers with `permission_classes`; inside, the view asks
`annotation.selectors.access` for the caller's standing in the project it names, which raises
`NotFound` or `Forbidden`. The default (settings: REST_FRAMEWORK) is `IsPerson`.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from annotation.api.authentication import ProjectClient
from annotation.selectors.access import person_id

_PERSON = (
    "Send a user token ('Authorization: Token <token>') or sign in; project keys only send data."
)
_KEY = "Send the project's key: 'Authorization: Bearer <project key>'."


class IsPerson(BasePermission):
    """A signed-in person (session or `Token`); ingestion and widget keys are refused."""

    message = _PERSON

    def has_permission(self, request: Request, view: Any) -> bool:
        return person_id(request.user) is not None


class IsIngestionKey(BasePermission):
    """An application holding a project's key (`Bearer`); the key names the project."""

    message = _KEY

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, ProjectClient)


class IsKeyOrPerson(BasePermission):
    """Either of the above (reading back what an application sent)."""

    message = _PERSON

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, ProjectClient) or person_id(request.user) is not None
