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
