"""Password sign-in with the throttle of annotation.services.login_throttle.

Every password sign-in goes through here: the login page, the admin's, and anything else that
calls `django.contrib.auth.authenticate`. A locked account or address is refused before the
password is even checked (`PermissionDenied` stops the other backends too), and the login page
says why (annotation/views/login.py).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from annotation.services.login_throttle import (
    login_failure_record,
    login_lock,
    login_success_record,
)


class ThrottledModelBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None or password is None:
            return None
        if login_lock(username=username, request=request) is not None:
            raise PermissionDenied("Sign-in is locked after repeated failures.")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            login_failure_record(username=username, request=request)
            return None
        login_success_record(username=username)
        return user
