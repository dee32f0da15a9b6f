"""Which outbound targets are allowed: URL syntax, scheme, and every address a name resolves to.

Only ``https`` is allowed, and only to public addresses, unless ``allow_private`` (the
``WEBHOOK_ALLOW_PRIVATE`` setting, for tests and local set-ups) also allows ``http`` and
private, loopback and link-local targets. The check is made on the resolved addresses, and
again at send time on the address the client then connects to (``client``), so a name that
resolved to a public address when the webhook was saved and to an internal one later (DNS
rebinding) is refused.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

MAX_URL_LENGTH = 2048


class TargetRefused(Exception):
    """A URL or address the policy refuses; ``code`` says which rule, ``message`` what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Target:
    """A parsed URL: what to connect to and what to say in the Host header and SNI."""

    scheme: str
    host: str  # lowercase name or address literal, without brackets
    port: int
    path: str  # path and query, at least "/"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def parse_target(url: str, *, allow_private: bool) -> Target:
    """Check the URL's syntax and scheme; raises ``TargetRefused`` saying what is wrong."""
    if not isinstance(url, str) or not url.strip():
        raise TargetRefused(
            "invalid_url", "Give the URL to POST to, e.g. https://example.com/hook."
        )
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused("invalid_url", f"URLs are limited to {MAX_URL_LENGTH} characters.")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise TargetRefused("invalid_url", "The URL contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused("invalid_url", f"The URL does not parse: {exc}.") from None
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if allow_private else ("https",)
    if scheme not in allowed:
        hint = "https" if allow_private else "https (http only where WEBHOOK_ALLOW_PRIVATE=true)"
        raise TargetRefused(
            "scheme_not_allowed", f"Scheme {scheme or '(none)'!r} is not allowed; use {hint}."
        )
    if parts.username is not None or parts.password is not None:
        raise TargetRefused(
            "invalid_url", "Credentials in the URL are not allowed; use the signing secret."
        )
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise TargetRefused("invalid_url", "The URL has no host name.")
    if parts.fragment:
        raise TargetRefused("invalid_url", "Leave the #fragment out; it is never sent.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(
        scheme=scheme, host=host, port=port or (443 if scheme == "https" else 80), path=path
    )


def address_refusal(address: IPAddress) -> str | None:
    """Why an address is not a public one (``None`` when it is)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_unspecified:
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "reserved"
    return None


def check_address(address: str, *, allow_private: bool, host: str) -> IPAddress:
    """Parse an address and refuse it unless it is public (or private targets are allowed)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    reason = None if allow_private else address_refusal(ip)
    if reason is not None:
        shown = host if host == str(ip) else f"{host} ({ip})"
        raise TargetRefused(
            "address_not_allowed",
            f"{shown} is a {reason} address; webhooks may call public addresses only "
            "(WEBHOOK_ALLOW_PRIVATE=true allows private ones in local set-ups).",
        )
    return ip


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the operating system resolves a host name to, duplicates dropped."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _system_resolver(host: str, port: int) -> Sequence[str]:
    # Looked up at call time, so tests can stand a fake DNS in for the system one.
    return system_resolver(host, port)


def resolve_target(
    target: Target, *, allow_private: bool, resolver: Resolver | None = None
) -> list[IPAddress]:
    """Every address of the target's host, all checked; raises ``TargetRefused``.

    One refused address refuses the host: an attacker's name may answer with a public and a
    private address and leave the choice to whoever connects.
    """
    try:
        literal: IPAddress | None = ipaddress.ip_address(target.host)
    except ValueError:
        literal = None
    if literal is not None:
        return [check_address(str(literal), allow_private=allow_private, host=target.host)]
    try:
        addresses = (resolver or _system_resolver)(target.host, target.port)
    except (OSError, UnicodeError) as exc:
        raise TargetRefused(
            "unresolvable", f"The host {target.host} does not resolve ({exc}); check the name."
        ) from None
    if not addresses:
        raise TargetRefused("unresolvable", f"The host {target.host} has no address.")
    return [check_address(a, allow_private=allow_private, host=target.host) for a in addresses]
