"""What a lead may see and pick in the admin: the rows, choices and filters of the projects they lead.

Every queryset the admin shows a lead goes through `scoped_queryset`: changelists, the choices of
foreign-key and many-to-many fields (which Django also validates on save, whatever the widget:
a raw-id field given another project's id is refused as "not one of the available choices"),
the label a raw-id widget prints for its value, and the choices of related list filters.
Superusers see everything.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.contrib.auth import get_user_model
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from annotation.models import (
    AgreementReport,
    AuditEvent,
    Check,
    Export,
    Feedback,
    Flag,
    Interaction,
    Membership,
    Project,
    ProjectKey,
)
from annotation.models.review import (
    Adjudication,
    Annotation,
    Guideline,
    Lease,
    Queue,
    QueueFill,
    QueueItem,
)
from annotation.selectors.access import LEADS, projects_for

# How each model reaches its project.
PROJECT_PATHS: dict[type[Model], str] = {
    Project: "pk",
    ProjectKey: "project",
    Membership: "project",
    Interaction: "project",
    Feedback: "project",
    Check: "project",
    Flag: "project",
    Guideline: "project",
    Queue: "project",
    Export: "project",
    AuditEvent: "project",
    QueueFill: "queue__project",
    QueueItem: "queue__project",
    Lease: "queue__project",
    AgreementReport: "queue__project",
    Annotation: "item__queue__project",
    Adjudication: "item__queue__project",
}


def led_projects(request: HttpRequest) -> QuerySet[Project]:
    return projects_for(request.user, LEADS)


def scoped_queryset(model: type[Model], request: HttpRequest) -> QuerySet[Any]:
    """Rows of `model` in the projects the user leads (all rows for a superuser).

    Users are scoped to the members of those projects; a model with no known way to its project
    yields nothing, so a new relation is closed until it is added to PROJECT_PATHS.
    """
    queryset: QuerySet[Any] = model._default_manager.all()
    if request.user.is_superuser:
        return queryset
    led = led_projects(request)
    if model is get_user_model():
        members = Membership.objects.filter(project__in=led).values("user_id")
        return queryset.filter(pk__in=members)
    path = PROJECT_PATHS.get(model)
    if path is None:
        return queryset.none()
    queryset = queryset.filter(**{f"{path}__in": led})
    if path == "project":
        # Their names start with the project's.
        queryset = queryset.select_related("project")
    return queryset


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A related-object filter offering only the lead's projects, checks, queues and members."""

    def field_choices(
        self, field: Any, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, Any]]:
        if request.user.is_superuser:
            return super().field_choices(field, request, model_admin)
        queryset = scoped_queryset(field.related_model, request)
        ordering = self.field_admin_ordering(field, request, model_admin)
        if ordering:
            queryset = queryset.order_by(*ordering)
        target = field.target_field.attname
        return [(str(getattr(obj, target)), str(obj)) for obj in queryset]


class ScopedRawIdWidget(ForeignKeyRawIdWidget):
    """A raw-id input that names its value only when the value is one the user may pick.

    Django's widget prints the label of whatever id was typed, even one the form refuses, which
    would show a lead the name of another project's object.
    """

    def __init__(self, *args: Any, queryset: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queryset = queryset

    def label_and_url_for_value(self, value: Any) -> tuple[str, str]:
        key = self.rel.get_related_field().name
        try:
            visible = self.queryset.filter(**{key: value}).exists()
        except (ValueError, TypeError):
            visible = False
        if not visible:
            return "", ""
        return super().label_and_url_for_value(value)


class LeadScopedAdmin(admin.ModelAdmin):
    """Superusers see everything; leads see the rows of their projects; nobody else gets in."""

    lead_can_add = False
    lead_can_delete = False

    def _is_lead(self, request: HttpRequest) -> bool:
        return bool(
            request.user.is_active and request.user.is_staff and led_projects(request).exists()
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{PROJECT_PATHS[self.model]}__in": led_projects(request)})

    def get_list_filter(self, request: HttpRequest) -> Any:
        scoped: list[Any] = []
        for item in super().get_list_filter(request):
            if isinstance(item, str) and get_fields_from_path(self.model, item)[-1].is_relation:
                scoped.append((item, ScopedRelatedFieldListFilter))
            else:
                scoped.append(item)
        return scoped

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or self._is_lead(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser or self._is_lead(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser or self._is_lead(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or (self.lead_can_add and self._is_lead(request))

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser or (self.lead_can_delete and self._is_lead(request))

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if not request.user.is_superuser and "queryset" not in kwargs:
            queryset = scoped_queryset(db_field.related_model, request)
            kwargs["queryset"] = queryset
            if db_field.name in self.raw_id_fields and "widget" not in kwargs:
                kwargs["widget"] = ScopedRawIdWidget(
                    db_field.remote_field,
                    self.admin_site,
                    queryset=queryset,
                    using=kwargs.get("using"),
                )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if not request.user.is_superuser and "queryset" not in kwargs:
            kwargs["queryset"] = scoped_queryset(db_field.related_model, request)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ReadOnlyScopedAdmin(LeadScopedAdmin):
    """Records written only by services and tasks: leads read them here, nobody edits them."""

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
