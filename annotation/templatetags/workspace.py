from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from annotation.rendering import highlight_spans, render_plain

register = template.Library()


@register.filter
def plain_text(value: Any) -> SafeString:
    """Untrusted text, escaped, with its line breaks kept."""
    return render_plain("" if value is None else str(value))


@register.filter
def highlighted(value: Any, spans: Any) -> SafeString:
    """Untrusted text, escaped, with the flagged spans marked."""
    return highlight_spans("" if value is None else str(value), spans or [])


@register.filter
def get_value(mapping: Any, key: str) -> Any:
    """`mapping[key]`, or None: for dicts whose keys are not template identifiers."""
    return mapping.get(key) if isinstance(mapping, dict) else None


@register.filter
def display_value(value: Any) -> str:
    """An annotation value as text: lists joined, documents' ratings as id: rating."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)
