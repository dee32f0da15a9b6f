"""The Python client against the live server (gunicorn + PostgreSQL), and through outages."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import openai
import pytest
from feedbackloop_client import AsyncClient, Client, chat_interaction
from feedbackloop_client._core import retry_after_seconds

from annotation.models import Feedback, Interaction
from annotation.services.projects import project_create
from tests.clients.conftest import LiveServer, free_port
from tests.fakes.openai_server import FakeOpenAI

# gunicorn shares the test database through PostgreSQL; test_client_embedded.py covers SQLite.
pytestmark = pytest.mark.postgresql


class _Outage:
    """A proxy in front of the server that answers 503 to the first `failures` requests.

    With `forward_then_fail`, the failing requests ARE forwarded first and only the answer is
    replaced by a 503: the client cannot tell, retries, and must not store anything twice.
    """

    def __init__(self, upstream: str, failures: int, *, forward_then_fail: bool = False) -> None:
        self.upstream = upstream
        self.failures = failures
        self.forward_then_fail = forward_then_fail
        self.seen = 0
        self.lock = threading.Lock()


@contextmanager
def outage_proxy(upstream: str, failures: int, **options: Any) -> Iterator[str]:
    outage = _Outage(upstream, failures, **options)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with outage.lock:
                outage.seen += 1
                failing = outage.seen <= outage.failures
            if not failing or outage.forward_then_fail:
                upstream = httpx.post(
                    outage.upstream + self.path,
                    content=body,
                    headers={
                        "Authorization": self.headers["Authorization"],
                        "Content-Type": "application/json",
                    },
                    timeout=30,
                )
            if failing:
                self.send_response(503)
                self.send_header("Retry-After", "0")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(upstream.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(upstream.content)))
            self.end_headers()
            self.wfile.write(upstream.content)

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _interaction(n: int) -> dict[str, Any]:
    return {
        "request_id": f"client-{n}",
        "model": "gpt-x",
        "model_version": "1.4.0",
        "messages": [{"role": "user", "content": f"Question {n}?"}],
        "response": f"Answer {n}.",
    }


@pytest.fixture
def key(transactional_db: Any) -> str:
    return project_create(name="client-bot").secret


def test_it_sends_interactions_and_feedback_in_batches(
    gunicorn_server: LiveServer, key: str
) -> None:
    with Client(gunicorn_server.url, key, batch_size=100, flush_interval=0.05) as client:
        for n in range(250):
            request_id = client.log_interaction(**_interaction(n))
            client.log_feedback(request_id=request_id, kind="rating", value=n % 2, scale="thumbs")
        assert client.flush(timeout=60)
        stats = client.stats.as_dict()

    assert Interaction.objects.count() == 250
    assert Feedback.objects.filter(interaction__isnull=False).count() == 250
    assert stats["created"] == 500
    assert stats["rejected"] == stats["dropped"] == stats["failed"] == 0
    # Batched: 500 rows in a handful of requests, not 500.
    assert stats["requests"] <= 10


def test_it_retries_through_a_server_that_answers_503_for_a_while(
    gunicorn_server: LiveServer, key: str
) -> None:
    with outage_proxy(gunicorn_server.url, failures=4) as url:
        client = Client(url, key, batch_size=50, backoff_base=0.01, backoff_max=0.05)
        for n in range(120):
            client.log_interaction(**_interaction(n))
        assert client.flush(timeout=60)
        client.close()

    assert Interaction.objects.count() == 120
    assert client.stats.retries == 4
    assert client.stats.created == 120
    assert client.stats.failed == 0


def test_a_retried_batch_that_was_stored_is_not_stored_twice(
    gunicorn_server: LiveServer, key: str
) -> None:
    with outage_proxy(gunicorn_server.url, failures=2, forward_then_fail=True) as url:
        client = Client(url, key, batch_size=500, backoff_base=0.01, backoff_max=0.05)
        request_id = client.log_interaction(**_interaction(1))
        assert client.flush(timeout=30)
        feedback_id = client.log_feedback(request_id=request_id, kind="comment", text="Nice")
        assert client.flush(timeout=30)
        client.close()

    assert Interaction.objects.count() == 1
    assert list(Feedback.objects.values_list("feedback_id", flat=True)) == [feedback_id]
    # The interaction was stored by the first of its three attempts, whose answers were lost
    # twice; the third was told it is a duplicate. The feedback went through at once.
    assert client.stats.retries == 2
    assert client.stats.duplicates == 1
    assert client.stats.created == 1


def test_it_gives_up_after_its_retries_and_counts_what_it_lost(key: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    client = Client(dead, key, max_retries=2, backoff_base=0.01, backoff_max=0.02)
    client.log_interaction(**_interaction(1))
    assert client.flush(timeout=30)
    client.close()

    assert client.stats.failed == 1
    assert client.stats.retries == 2


def test_a_full_buffer_drops_new_rows_and_counts_them(key: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    client = Client(dead, key, max_buffer=10, flush_interval=60, max_retries=0)
    ids = [client.log_interaction(**_interaction(n)) for n in range(25)]
    client.close(timeout=5)

    assert len(ids) == 25
    assert client.stats.enqueued == 25
    assert client.stats.dropped == 15


def test_refused_rows_are_counted_with_the_servers_reason(
    gunicorn_server: LiveServer, key: str
) -> None:
    with Client(gunicorn_server.url, key) as client:
        client.log_interaction(**_interaction(1))
        client.log_interaction(request_id="bad", messages=[{"role": "robot", "content": "x"}])
        assert client.flush(timeout=30)

    assert client.stats.created == 1
    assert client.stats.rejected == 1
    assert client.stats.errors[0]["field"].startswith("messages[0]")


def test_feedback_needs_the_request_id(key: str) -> None:
    client = Client(f"http://127.0.0.1:{free_port()}", key)
    with pytest.raises(ValueError, match="request_id"):
        client.log_feedback(kind="rating", value=1, scale="thumbs")
    client.close(timeout=1)


def test_the_async_client_sends_the_same_way(gunicorn_server: LiveServer, key: str) -> None:
    async def main() -> AsyncClient:
        async with AsyncClient(gunicorn_server.url, key, batch_size=40) as client:
            for n in range(100):
                request_id = client.log_interaction(**_interaction(n))
                client.log_feedback(request_id=request_id, kind="implicit", event="copy")
            await client.flush()
        return client

    client = asyncio.run(main())

    assert client.stats.created == 200
    assert Interaction.objects.count() == 100
    assert Feedback.objects.filter(kind="implicit", interaction__isnull=False).count() == 100


def test_a_traced_openai_call_becomes_an_interaction(gunicorn_server: LiveServer, key: str) -> None:
    with FakeOpenAI() as fake, Client(gunicorn_server.url, key) as client:
        fake.enqueue(content="Open Billing, then Invoices.", prompt_tokens=31, completion_tokens=7)
        llm = client.trace_openai(
            openai.OpenAI(base_url=fake.base_url, api_key="k", max_retries=0),
            prompt_template="support_answer",
        )
        answer = llm.chat.completions.create(
            model="gpt-x",
            messages=[{"role": "user", "content": "Where are my invoices?"}],
            feedbackloop={"user_id": "u-42", "metadata": {"locale": "en-GB"}},
        )
        client.log_feedback(request_id=answer.id, kind="rating", value=1, scale="thumbs")
        assert client.flush(timeout=30)

    stored = Interaction.objects.get(request_id=answer.id)
    assert stored.response == "Open Billing, then Invoices."
    assert stored.messages == [{"role": "user", "content": "Where are my invoices?"}]
    assert (stored.tokens_in, stored.tokens_out) == (31, 7)
    assert stored.prompt_template == "support_answer"
    assert stored.latency_ms is not None and stored.latency_ms >= 0
    assert stored.metadata == {"locale": "en-GB", "finish_reason": "stop"}
    assert stored.user_id and stored.user_id != "u-42"  # pseudonymised on ingest
    assert stored.feedback.get().normalized_score == 1.0


def test_chat_interaction_reads_plain_dict_responses() -> None:
    record = chat_interaction(
        {"model": "m", "messages": [{"role": "user", "content": "Hi"}]},
        {"id": "c1", "model": "m-2", "choices": [{"message": {"content": "Hello"}}]},
        12.4,
        session_id="s",
    )
    assert record == {
        "messages": [{"role": "user", "content": "Hi"}],
        "response": "Hello",
        "model": "m-2",
        "latency_ms": 12,
        "request_id": "c1",
        "session_id": "s",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3", 3.0), ("0.5", 0.5), ("999", 30.0), ("-4", 0.0), ("soon", None), (None, None)],
)
def test_retry_after_is_read_as_capped_seconds(value: str | None, expected: float | None) -> None:
    assert retry_after_seconds(value, cap=30.0) == expected


def test_retry_after_reads_http_dates() -> None:
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", cap=30.0) == 0.0
