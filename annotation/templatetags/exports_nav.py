from __future__ import annotations

from django import template
from django.template import Context

from annotation.selectors.exports import export_projects

register = template.Library()


@register.simple_tag(takes_context=True)
def exports_any(context: Context) -> bool:
    """Whether the signed-in user may build exports: the nav shows the Exports link (one query)."""
    user = context.get("user")
    return user is not None and export_projects(user).exists()
