"""Web origins (`scheme://host[:port]`), as browsers send them in the `Origin` header."""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_ORIGINS = 20
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_normalise(value: str) -> str:
    """The origin in the form browsers send, or ValueError saying what is wrong with it."""
    text = value.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(
            f"{value!r} is not an origin; write it as https://app.example.com"
        ) from None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) origin; write it as https://app.example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{value!r} has more than an origin: drop the path, query and user")
    origin = f"{parts.scheme}://{parts.hostname.lower()}"
    if port is not None and port != _DEFAULT_PORTS[parts.scheme]:
        origin += f":{port}"
    return origin


def origins_normalise(values: list[str]) -> list[str]:
    if not values:
        raise ValueError("Give at least one origin whose pages embed the widget.")
    if len(values) > MAX_ORIGINS:
        raise ValueError(f"At most {MAX_ORIGINS} origins per key.")
    return sorted({origin_normalise(value) for value in values})
