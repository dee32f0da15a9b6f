"""Strict readers for settings taken from the environment.

A bad value stops start-up with a message naming the variable, so a typo in a deployment never
silently turns into a default.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    value = (os.environ if environ is None else environ).get(name)
    return None if value is None or value.strip() == "" else value


def env_str(name: str, default: str = "", *, environ: Mapping[str, str] | None = None) -> str:
    raw = _raw(name, environ)
    return default if raw is None else raw


def env_bool(name: str, default: bool = False, *, environ: Mapping[str, str] | None = None) -> bool:
    raw = _raw(name, environ)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    raw = _raw(name, environ)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_float(
    name: str,
    default: float,
    *,
    minimum: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> float:
    raw = _raw(name, environ)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(
    name: str, default: list[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> list[str]:
    raw = _raw(name, environ)
    if raw is None:
        return list(default or [])
    return [part.strip() for part in raw.split(",") if part.strip()]


def env_url(
    name: str,
    default: str = "",
    *,
    schemes: tuple[str, ...],
    environ: Mapping[str, str] | None = None,
) -> str:
    raw = env_str(name, default, environ=environ).strip()
    if raw and raw.split("://", 1)[0] not in schemes:
        allowed = ", ".join(f"{s}://" for s in schemes)
        raise ImproperlyConfigured(f"{name} must start with one of {allowed}, got {raw!r}")
    return raw


_EVALUATOR_NAME = r"[a-z][a-z0-9_-]{0,63}"
_DOTTED = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"


def env_evaluators(name: str, *, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """`name=package.module:function,…` as a mapping; anything else stops start-up.

    These are the only Python callables a `python` check may run: a check names an entry, and
    only the target written here is ever imported.
    """
    raw = _raw(name, environ)
    if raw is None:
        return {}
    entry_re = re.compile(rf"({_EVALUATOR_NAME})=({_DOTTED}:[A-Za-z_][A-Za-z0-9_]*)")
    evaluators: dict[str, str] = {}
    for index, part in enumerate(raw.split(",")):
        entry = part.strip()
        match = entry_re.fullmatch(entry)
        if match is None:
            raise ImproperlyConfigured(
                f"{name} entry {index + 1} ({entry!r}) must look like "
                "name=package.module:function (name in lowercase letters, digits, - and _)"
            )
        key, target = match.groups()
        if key in evaluators:
            raise ImproperlyConfigured(f"{name} names the evaluator {key!r} twice")
        evaluators[key] = target
    return evaluators
