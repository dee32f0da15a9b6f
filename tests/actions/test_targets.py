"""Which outbound URLs and addresses are refused, at creation and at send time."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from annotation.outbound import client
from annotation.outbound.targets import TargetRefused, parse_target, resolve_target


def fixed(*addresses: str):  # type: ignore[no-untyped-def]
    def resolver(host: str, port: int) -> Sequence[str]:
        return addresses

    return resolver


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "http://example.com/hook",  # plain http unless private targets are allowed
        "//example.com/hook",
    ],
)
def test_it_refuses_schemes_other_than_https(url: str) -> None:
    with pytest.raises(TargetRefused) as caught:
        parse_target(url, allow_private=False)
    assert caught.value.code == "scheme_not_allowed"


def test_it_allows_http_where_private_targets_are_allowed() -> None:
    assert parse_target("http://127.0.0.1:8080/x?y=1", allow_private=True).path == "/x?y=1"
    with pytest.raises(TargetRefused):
        parse_target("ftp://127.0.0.1/", allow_private=True)


@pytest.mark.parametrize(
    "url",
    ["https://user:pw@example.com/", "https:///nohost", "https://exa mple.com/", "https://[::1/"],
)
def test_it_refuses_malformed_urls(url: str) -> None:
    with pytest.raises(TargetRefused) as caught:
        parse_target(url, allow_private=False)
    assert caught.value.code == "invalid_url"


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("127.0.0.1", "loopback"),
        ("127.9.9.9", "loopback"),
        ("169.254.169.254", "link-local"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 (refused, not bound)
        ("100.64.0.1", "reserved"),
    ],
)
def test_it_refuses_non_public_addresses(address: str, kind: str) -> None:
    host = f"[{address}]" if ":" in address else address
    target = parse_target(f"https://{host}/hook", allow_private=False)
    with pytest.raises(TargetRefused) as caught:
        resolve_target(target, allow_private=False)
    assert caught.value.code == "address_not_allowed"
    assert kind in caught.value.message


def test_it_refuses_a_name_that_resolves_to_a_private_address() -> None:
    target = parse_target("https://hooks.example.test/x", allow_private=False)
    with pytest.raises(TargetRefused) as caught:
        resolve_target(target, allow_private=False, resolver=fixed("93.184.216.34", "10.0.0.7"))
    assert caught.value.code == "address_not_allowed"
    assert "10.0.0.7" in caught.value.message


def test_it_accepts_a_name_with_public_addresses_only() -> None:
    target = parse_target("https://hooks.example.test/x", allow_private=False)
    found = resolve_target(target, allow_private=False, resolver=fixed("93.184.216.34"))
    assert [str(a) for a in found] == ["93.184.216.34"]


def test_it_says_when_a_name_does_not_resolve() -> None:
    def failing(host: str, port: int) -> Sequence[str]:
        raise OSError("Name or service not known")

    target = parse_target("https://nowhere.invalid/", allow_private=False)
    with pytest.raises(TargetRefused) as caught:
        resolve_target(target, allow_private=False, resolver=failing)
    assert caught.value.code == "unresolvable"


def test_sending_refuses_a_name_that_now_resolves_to_loopback() -> None:
    # DNS rebinding: public when the webhook was saved, loopback when it is called.
    with pytest.raises(client.SendFailed) as caught:
        client.post(
            "https://hooks.example.test/x",
            b"{}",
            {},
            allow_private=False,
            timeout=1,
            max_response_bytes=100,
            resolver=fixed("127.0.0.1"),
        )
    assert caught.value.kind == "refused"
    assert caught.value.retryable is False
