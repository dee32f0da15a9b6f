from __future__ import annotations

from django import template
from django.template import Context
from django.urls import NoReverseMatch, reverse

from annotation.selectors.dashboard import insights_landing

register = template.Library()


@register.simple_tag(takes_context=True)
def insights_home(context: Context) -> str:
    """The overview the header's Insights link opens ("" for people who lead or engineer no
    project): the first of their projects by name (one query)."""
    user = context.get("user")
    return insights_landing(user) if user is not None else ""


@register.simple_tag
def url_if_exists(name: str, *args: object) -> str:
    """The URL of a route, or "" when no such route exists (yet): insights pages link to each
    other from one list (annotation/insights/_nav.html) whichever of them are installed."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""
