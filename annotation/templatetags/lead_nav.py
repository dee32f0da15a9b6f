from __future__ import annotations

from django import template
from django.template import Context

from annotation.selectors.access import LEADS, holds_role

register = template.Library()


@register.simple_tag(takes_context=True)
def leads_any(context: Context) -> bool:
    """Whether the signed-in user leads a project: the nav shows the Lead link (one query)."""
    user = context.get("user")
    return user is not None and holds_role(user, LEADS)
