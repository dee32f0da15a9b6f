from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from feedbackloop.env import env_bool, env_int, env_list


def start(**env: str) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh interpreter with exactly `env` set."""
    base = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "feedbackloop.settings"}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off() -> None:
    result = start()

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_it_starts_with_embedded_defaults_in_debug() -> None:
    assert start(DEBUG="true").returncode == 0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be true or false"),
        ("DATABASE_CONN_MAX_AGE", "soon", "DATABASE_CONN_MAX_AGE must be a whole number"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL must start with one of"),
        ("CELERY_BROKER_URL", "http://x", "CELERY_BROKER_URL must start with one of"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL must start with one of"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(
    name: str, value: str, message: str
) -> None:
    result = start(SECRET_KEY="x" * 40, **{name: value})

    assert result.returncode != 0
    assert message in result.stderr


def test_env_reads_strictly() -> None:
    environ = {"FLAG": "yes", "N": "4", "LIST": "a, b,,c", "BAD": "1.5", "EMPTY": ""}

    assert env_bool("FLAG", environ=environ) is True
    assert env_bool("MISSING", True, environ=environ) is True
    assert env_bool("EMPTY", True, environ=environ) is True
    assert env_int("N", 0, environ=environ) == 4
    assert env_list("LIST", environ=environ) == ["a", "b", "c"]
    with pytest.raises(ImproperlyConfigured, match="BAD must be a whole number"):
        env_int("BAD", 0, environ=environ)
    with pytest.raises(ImproperlyConfigured, match="N must be at least 5"):
        env_int("N", 0, minimum=5, environ=environ)


def test_celery_is_eager_without_a_broker() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.CELERY_TASK_ALWAYS_EAGER, settings.CACHES['default']['BACKEND'], "
            "settings.DATABASES['default']['ENGINE'])",
        ],
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "feedbackloop.settings",
            "DEBUG": "true",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert result.stdout.split() == [
        "True",
        "django.core.cache.backends.locmem.LocMemCache",
        "django.db.backends.sqlite3",
    ]


def test_it_turns_server_side_cursors_off_for_transaction_pooling() -> None:
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default']['DISABLE_SERVER_SIDE_CURSORS'])"
    )
    base = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "feedbackloop.settings"}
    answers = [
        subprocess.run(
            [sys.executable, "-c", script],
            env={**base, "DEBUG": "true", **extra},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
        for extra in ({}, {"DATABASE_DISABLE_SERVER_SIDE_CURSORS": "true"})
    ]

    assert answers == ["False", "True"]
