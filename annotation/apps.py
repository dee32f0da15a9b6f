from __future__ import annotations

from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "annotation"
    verbose_name = "feedbackloop"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from annotation import lookups  # noqa: F401  (registers field__any)
