"""Chunked request bodies (Transfer-Encoding: chunked, no Content-Length) were read as empty.

Run against the servers people use: gunicorn undoes the chunking and says so
(`wsgi.input_terminated`), so the body is read, up to MAX_REQUEST_BYTES; Django's own server
(runserver, and the live_server tests use) leaves the chunks on the socket, so it answers 411
asking for a Content-Length rather than acting on an empty body. The test client cannot send
chunked bodies, hence real sockets here.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from annotation.models import Interaction, Queue
from tests.conftest import KeyedProject, Persona
from tests.factories import REVIEW_SCHEMA

LIMIT = 64 * 1024
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def gunicorn(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    """gunicorn serving the app against the test database, as production runs it."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("the chunked-body tests run against PostgreSQL (DATABASE_URL)")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DATABASE_CONN_MAX_AGE": "0",
        "MAX_REQUEST_BYTES": str(LIMIT),
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DEBUG": "false",
        "STATIC_MANIFEST": "false",
    }
    env.pop("CELERY_BROKER_URL", None)  # checks run inline: nothing is left on a broker
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "feedbackloop.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(os.environ.get("GUNICORN_LOG", os.devnull), "ab"),  # noqa: SIM115
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, "gunicorn exited on start"
            assert time.monotonic() < deadline, "gunicorn did not start in 30 s"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def _chunks(body: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def chunked_post(base: str, path: str, body: bytes, authorization: str) -> tuple[int, Any]:
    """POST `body` with Transfer-Encoding: chunked (http.client chunks an iterable body)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    conn.request(
        "POST",
        path,
        body=_chunks(body),
        headers={"Authorization": authorization, "Content-Type": "application/json"},
        encode_chunked=True,
    )
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, json.loads(payload) if payload else None


def test_gunicorn_reads_a_chunked_ingestion_body(
    transactional_db: Any, gunicorn: str, keyed_project: KeyedProject
) -> None:
    items = [
        {"request_id": f"req-{n}", "prompt": "Hi", "response": "Hello " * 50} for n in range(20)
    ]

    status, body = chunked_post(
        gunicorn,
        "/api/v1/interactions",
        json.dumps({"items": items}).encode(),
        f"Bearer {keyed_project.key}",
    )

    assert status == 201, body
    assert body["created"] == 20
    assert Interaction.objects.count() == 20


def test_gunicorn_reads_a_chunked_body_for_any_api_view(
    transactional_db: Any, gunicorn: str, lead: Persona
) -> None:
    queue = {
        "project": "support-bot",
        "name": "chunked",
        "sources": [{"type": "low_rated", "threshold": 0.4}],
        "schema": REVIEW_SCHEMA,
    }

    status, body = chunked_post(
        gunicorn, "/api/v1/queues", json.dumps(queue).encode(), f"Token {lead.token}"
    )

    assert status == 201, body
    assert Queue.objects.get().name == "chunked"


def test_gunicorn_refuses_a_chunked_body_over_the_limit(
    transactional_db: Any, gunicorn: str, keyed_project: KeyedProject
) -> None:
    body = json.dumps({"request_id": "req-1", "prompt": "p", "response": "x" * LIMIT}).encode()

    status, answer = chunked_post(
        gunicorn, "/api/v1/interactions", body, f"Bearer {keyed_project.key}"
    )

    assert status == 413
    assert answer["error"]["code"] == "too_large"
    assert not Interaction.objects.exists()


def test_gunicorn_refuses_a_declared_length_over_the_limit(
    transactional_db: Any, gunicorn: str, keyed_project: KeyedProject
) -> None:
    body = json.dumps({"request_id": "req-1", "prompt": "p", "response": "x" * LIMIT}).encode()
    parts = urlsplit(gunicorn)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    conn.request(
        "POST",
        "/api/v1/interactions",
        body=body,
        headers={
            "Authorization": f"Bearer {keyed_project.key}",
            "Content-Type": "application/json",
        },
    )
    response = conn.getresponse()

    assert response.status == 413
    assert json.loads(response.read())["error"]["code"] == "too_large"


def test_djangos_own_server_asks_for_a_content_length(
    live_server: Any, keyed_project: KeyedProject
) -> None:
    body = json.dumps({"request_id": "req-1", "prompt": "p", "response": "r"}).encode()

    status, answer = chunked_post(
        live_server.url, "/api/v1/interactions", body, f"Bearer {keyed_project.key}"
    )

    assert status == 411
    assert answer["error"]["code"] == "length_required"
    assert "Content-Length" in answer["error"]["message"]
    assert not Interaction.objects.exists()


def test_an_asgi_server_hands_over_a_chunked_body_that_is_read(lead: Persona) -> None:
    import io

    from django.core.handlers.asgi import ASGIRequest
    from django.core.handlers.base import BaseHandler

    queue = {
        "project": "support-bot",
        "name": "chunked",
        "sources": [{"type": "low_rated", "threshold": 0.4}],
        "schema": REVIEW_SCHEMA,
    }
    # What an ASGI server (uvicorn, daphne) hands Django for a chunked request: the body whole,
    # the Transfer-Encoding header, no Content-Length. DRF sized the body by Content-Length and
    # read nothing.
    request = ASGIRequest(
        {
            "type": "http",
            "method": "POST",
            "path": "/api/v1/queues",
            "query_string": b"",
            "headers": [
                (b"host", b"testserver"),
                (b"transfer-encoding", b"chunked"),
                (b"content-type", b"application/json"),
                (b"authorization", f"Token {lead.token}".encode()),
            ],
        },
        io.BytesIO(json.dumps(queue).encode()),
    )
    handler = BaseHandler()
    handler.load_middleware()

    response = handler.get_response(request)

    assert response.status_code == 201, response.content
    assert Queue.objects.get().name == "chunked"
