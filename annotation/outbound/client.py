"""The outbound HTTP client: one POST to an address checked by ``targets``, bounded in time
and in what it reads back.

The host name is resolved once, every address is checked, and the connection goes to the
checked address itself, with the name kept in the Host header and in TLS (SNI and certificate
verification): nothing resolves the name again between the check and the connection, so DNS
rebinding cannot slip an internal address in. Redirects are not followed (a 3xx is an answer
like any other), the whole exchange has a deadline, and at most ``max_response_bytes`` of the
answer are read.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Mapping
from dataclasses import dataclass

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, SSLError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from annotation.outbound.targets import Resolver, TargetRefused, parse_target, resolve_target

USER_AGENT = "feedbackloop-webhooks/1"
READ_CHUNK = 8192


@dataclass(frozen=True)
class Response:
    status: int
    latency_ms: int
    body: bytes  # the first max_response_bytes of the answer
    truncated: bool


class SendFailed(Exception):
    """No HTTP answer: ``kind`` is timeout, connection, tls or refused (by the policy)."""

    def __init__(self, kind: str, message: str, *, retryable: bool, latency_ms: int = 0) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retryable = retryable
        self.latency_ms = latency_ms


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    allow_private: bool,
    timeout: float,
    max_response_bytes: int,
    resolver: Resolver | None = None,
    ca_certs: str | None = None,
) -> Response:
    """POST ``body`` to ``url``; raises ``SendFailed`` when no answer came back."""
    started = time.monotonic()
    try:
        target = parse_target(url, allow_private=allow_private)
        addresses = resolve_target(target, allow_private=allow_private, resolver=resolver)
    except TargetRefused as exc:
        # A name that does not resolve may come back; a refused address or URL will not.
        raise SendFailed(
            "refused" if exc.code != "unresolvable" else "connection",
            exc.message,
            retryable=exc.code == "unresolvable",
        ) from None
    deadline = started + timeout
    is_literal = _is_address(target.host)
    last: SendFailed | None = None
    for address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        host = f"[{address}]" if address.version == 6 else str(address)
        pool: urllib3.HTTPConnectionPool
        if target.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                host,
                target.port,
                maxsize=1,
                retries=False,
                cert_reqs="CERT_REQUIRED",
                ca_certs=ca_certs,
                server_hostname=None if is_literal else target.host,
                assert_hostname=target.host,
            )
        else:
            pool = urllib3.HTTPConnectionPool(host, target.port, maxsize=1, retries=False)
        try:
            return _exchange(
                pool,
                target.path,
                body,
                headers,
                target.host_header,
                started,
                deadline,
                max_response_bytes,
            )
        except SendFailed as exc:
            last = exc
            if exc.kind != "connection":
                raise
        finally:
            pool.close()
    raise last or SendFailed(
        "timeout", f"No answer within {timeout:g} s.", retryable=True, latency_ms=_ms(started)
    )


def _exchange(
    pool: urllib3.HTTPConnectionPool,
    path: str,
    body: bytes,
    headers: Mapping[str, str],
    host_header: str,
    started: float,
    deadline: float,
    max_response_bytes: int,
) -> Response:
    remaining = max(deadline - time.monotonic(), 0.001)
    sent = {
        **headers,
        "Host": host_header,
        "User-Agent": USER_AGENT,
        "Content-Length": str(len(body)),
    }
    try:
        response = pool.urlopen(
            "POST",
            path,
            body=body,
            headers=sent,
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
            timeout=urllib3.Timeout(connect=remaining, read=remaining),
        )
    except NewConnectionError as exc:
        # Before the timeout clause: urllib3 makes it a subclass of ConnectTimeoutError.
        raise SendFailed(
            "connection", f"Could not connect: {exc}", retryable=True, latency_ms=_ms(started)
        ) from None
    except Urllib3Timeout:
        raise SendFailed(
            "timeout",
            "The receiver did not answer in time.",
            retryable=True,
            latency_ms=_ms(started),
        ) from None
    except SSLError as exc:
        raise SendFailed(
            "tls", f"TLS failed: {exc}", retryable=True, latency_ms=_ms(started)
        ) from None
    except (HTTPError, OSError) as exc:
        raise SendFailed(
            "connection", f"Could not connect: {exc}", retryable=True, latency_ms=_ms(started)
        ) from None
    chunks: list[bytes] = []
    size = 0
    truncated = False
    try:
        while True:
            if time.monotonic() > deadline:
                truncated = True
                break
            chunk = response.read(READ_CHUNK)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > max_response_bytes:
                truncated = True
                break
    except (HTTPError, OSError):
        # The status came back: a body cut short does not change the answer.
        truncated = True
    finally:
        response.release_conn()
        response.close()
    data = b"".join(chunks)[:max_response_bytes]
    return Response(status=response.status, latency_ms=_ms(started), body=data, truncated=truncated)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
