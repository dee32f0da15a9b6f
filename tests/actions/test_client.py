"""The outbound client against a real receiver on 127.0.0.1: it connects to the address it
checked, keeps the name in the Host header, gives up in time and reads a bounded answer."""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence

import pytest

from annotation.outbound import client
from tests.actions.receiver import Receiver, Reply


def post(url: str, **kwargs: object) -> client.Response:
    options: dict[str, object] = {
        "allow_private": True,
        "timeout": 1.0,
        "max_response_bytes": 1000,
        **kwargs,
    }
    return client.post(url, b'{"a":1}', {"Content-Type": "application/json"}, **options)  # type: ignore[arg-type]


def test_it_connects_to_the_checked_address_and_keeps_the_host_name(receiver: Receiver) -> None:
    looked_up: list[str] = []

    def resolver(host: str, port: int) -> Sequence[str]:
        looked_up.append(host)
        return ["127.0.0.1"]

    response = post(f"http://hooks.example.test:{receiver.port}/in?x=1", resolver=resolver)

    assert response.status == 200
    assert looked_up == ["hooks.example.test"]  # resolved once, by the check
    [got] = receiver.received
    assert got.headers["Host"] == f"hooks.example.test:{receiver.port}"
    assert got.path == "/in?x=1"
    assert got.body == b'{"a":1}'


def test_a_slow_receiver_times_out_without_waiting_for_it(receiver: Receiver) -> None:
    receiver.script(Reply(delay=3.0))
    started = time.monotonic()
    with pytest.raises(client.SendFailed) as caught:
        post(receiver.url, timeout=0.5)
    assert time.monotonic() - started < 2.0
    assert caught.value.kind == "timeout"
    assert caught.value.retryable is True


def test_it_reads_at_most_the_response_limit(receiver: Receiver) -> None:
    receiver.script(Reply(status=500, body=b"x" * 1_000_000))
    response = post(receiver.url, max_response_bytes=1000)
    assert response.status == 500
    assert len(response.body) == 1000
    assert response.truncated is True


def test_it_does_not_follow_redirects(receiver: Receiver) -> None:
    receiver.script(Reply(status=302, body=b""))
    response = post(receiver.url)
    assert response.status == 302
    assert len(receiver.received) == 1


def test_a_closed_port_is_a_connection_error_worth_retrying() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(client.SendFailed) as caught:
        post(f"http://127.0.0.1:{port}/")
    assert caught.value.kind == "connection"
    assert caught.value.retryable is True


def test_private_targets_are_refused_unless_allowed(receiver: Receiver) -> None:
    with pytest.raises(client.SendFailed) as caught:
        post(f"https://127.0.0.1:{receiver.port}/", allow_private=False)
    assert caught.value.kind == "refused"
    assert receiver.received == []
