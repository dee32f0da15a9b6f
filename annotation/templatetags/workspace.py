from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from annotation.rendering import highlight_spans, render_plain
from annotation.review import display

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
    """An annotation value as people read it: options in words, lists joined, documents' ratings
    as id: rating (never a Python list or a raw label such as `off_topic`)."""
    return display.value_text(value)


@register.filter
def human(value: Any) -> str:
    """A name in words: `off_topic` -> `Off topic`."""
    return display.human(value)


@register.filter
def reason_label(value: Any) -> str:
    """Why an item is in a queue, in words (`low_rated` -> `Low rating`)."""
    return display.reason_label(value)


@register.filter
def inclusion_text(value: Any) -> str:
    """An inclusion probability in words ('every such interaction is picked')."""
    return display.inclusion_text(value)


# Number keys pick among at most nine options; the rest are reached with Tab and the arrows.
MAX_KEYS = 9


@register.filter
def keyed(options: Any) -> list[tuple[int | None, Any]]:
    """(key, option) pairs: the first nine options get the keys 1-9, the others None."""
    return [(n if n <= MAX_KEYS else None, option) for n, option in enumerate(options or [], 1)]


@register.filter
def likert_keyed(widget: Any) -> list[tuple[int | None, int]]:
    """(key, point) pairs of a Likert scale: on a scale within 1-9 each point's key is the point
    itself (press 4 for 4); on any other scale the first nine points are keyed by position."""
    scale: list[int] = list(widget.scale)
    if scale and scale[0] >= 1 and scale[-1] <= MAX_KEYS:
        return [(point, point) for point in scale]
    return keyed(scale)
