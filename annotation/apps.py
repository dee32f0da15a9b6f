from __future__ import annotations

from django.apps import AppConfig
from django.http import HttpRequest


class AnnotationConfig(AppConfig):
    name = "annotation"
    verbose_name = "feedbackloop"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from corsheaders.signals import check_request_enabled

        from annotation import lookups  # noqa: F401  (registers field__any)

        check_request_enabled.connect(_widget_origin_allowed, dispatch_uid="widget-origins")


def _widget_origin_allowed(sender: object, request: HttpRequest, **kwargs: object) -> bool:
    """CORS for the widget's endpoints: only origins that some live widget key allows.

    django-cors-headers asks this both whether a path takes CORS at all and whether an origin
    may call it, so both are answered here.
    """
    from annotation.services.widget import widget_origins

    if not request.path.startswith("/api/v1/widget/"):
        return False
    origin = request.headers.get("Origin", "")
    return origin.lower() in widget_origins()
