"""Strict readers for settings taken from the environment.

A bad value stops start-up with a message naming the variable, so a typo in a deployment never
silently turns into a default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class Env:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    def str(self, name: str, default: str = "") -> str:
        return self._environ.get(name, default)

    def bool(self, name: str, default: bool = False) -> bool:
        raw = self._environ.get(name)
        if raw is None or raw == "":
            return default
        value = raw.strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")

    def int(self, name: str, default: int, *, minimum: int | None = None) -> int:
        raw = self._environ.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None
        if minimum is not None and value < minimum:
            raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
        return value

    def float(self, name: str, default: float, *, minimum: float | None = None) -> float:
        raw = self._environ.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None
        if minimum is not None and value < minimum:
            raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
        return value

    def list(self, name: str, default: list[str] | None = None) -> list[str]:
        raw = self._environ.get(name)
        if raw is None or raw.strip() == "":
            return list(default or [])
        return [part.strip() for part in raw.split(",") if part.strip()]

    def url(self, name: str, default: str = "", *, schemes: tuple[str, ...]) -> str:
        raw = self._environ.get(name, default).strip()
        if raw and raw.split("://", 1)[0] not in schemes:
            allowed = ", ".join(f"{s}://" for s in schemes)
            raise ImproperlyConfigured(f"{name} must start with one of {allowed}, got {raw!r}")
        return raw
