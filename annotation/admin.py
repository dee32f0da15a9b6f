"""The Django admin, scoped so a lead sees and edits only the projects they lead."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from annotation.checks.config import CheckConfigError
from annotation.models import (
    ApiToken,
    Check,
    Feedback,
    Flag,
    Interaction,
    Membership,
    Project,
    ProjectKey,
    Role,
)
from annotation.selectors.projects import projects_for_user
from annotation.services.check_config import check_validate


def led_projects(request: HttpRequest) -> QuerySet[Project]:
    return projects_for_user(request.user, roles=[Role.LEAD])


class LeadScopedAdmin(admin.ModelAdmin):
    """Superusers see everything; leads see the rows of their projects; nobody else gets in."""

    project_path = "project"
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
        return queryset.filter(**{f"{self.project_path}__in": led_projects(request)})

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
        if db_field.name == "project" and not request.user.is_superuser:
            kwargs["queryset"] = led_projects(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Project)
class ProjectAdmin(LeadScopedAdmin):
    project_path = "pk"
    list_display = ["name", "description", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = admin.ModelAdmin.get_queryset(self, request)
        return (
            queryset if request.user.is_superuser else queryset.filter(pk__in=led_projects(request))
        )


@admin.register(ProjectKey)
class ProjectKeyAdmin(LeadScopedAdmin):
    list_display = ["prefix", "project", "name", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["project"]
    # Keys are created by `createproject` (shown once); here they can only be renamed or revoked.
    readonly_fields = ["project", "prefix", "key_hash", "created_at", "last_used_at"]


@admin.register(Membership)
class MembershipAdmin(LeadScopedAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["project", "role"]
    search_fields = ["user__username"]
    lead_can_add = True
    lead_can_delete = True


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "created_at", "last_used_at"]
    readonly_fields = ["user", "prefix", "key_hash", "created_at", "last_used_at"]
    search_fields = ["user__username"]


class FeedbackInline(admin.TabularInline):
    model = Feedback
    extra = 0
    readonly_fields = (
        "kind",
        "source",
        "value",
        "scale",
        "normalized_score",
        "labels",
        "text",
        "event",
        "timestamp",
    )
    fields = readonly_fields
    can_delete = False
    show_change_link = True


@admin.register(Interaction)
class InteractionAdmin(LeadScopedAdmin):
    list_display = [
        "request_id",
        "project",
        "timestamp",
        "model",
        "model_version",
        "prompt_template",
    ]
    list_filter = ["project", "model", "model_version", "prompt_template"]
    search_fields = ["request_id", "session_id"]
    date_hierarchy = "timestamp"
    list_select_related = ["project"]
    readonly_fields = ["project", "request_id", "user_id", "received_at"]
    inlines = [FeedbackInline]
    show_full_result_count = False


@admin.register(Feedback)
class FeedbackAdmin(LeadScopedAdmin):
    list_display = [
        "request_id",
        "project",
        "kind",
        "source",
        "normalized_score",
        "event",
        "timestamp",
    ]
    list_filter = ["project", "kind", "source", "scale", "event"]
    search_fields = ["request_id"]
    raw_id_fields = ["interaction"]
    list_select_related = ["project"]
    readonly_fields = ["project", "request_id", "user_id", "received_at"]
    show_full_result_count = False


class CheckAdminForm(forms.ModelForm):
    """Validates parameters exactly as the API does, so a bad configuration never reaches a worker."""

    class Meta:
        model = Check
        fields = ["project", "name", "type", "parameters", "severity", "enabled", "sample_rate"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        try:
            cleaned["parameters"] = check_validate(
                check_type=cleaned.get("type", ""), parameters=cleaned.get("parameters")
            )
        except CheckConfigError as exc:
            field = "type" if exc.field == "type" else "parameters"
            self.add_error(field, f"{exc.field}: {exc.message}")
        return cleaned


@admin.register(Check)
class CheckAdmin(LeadScopedAdmin):
    form = CheckAdminForm
    list_display = [
        "name",
        "project",
        "type",
        "severity",
        "enabled",
        "sample_rate",
        "evaluator_cost",
    ]
    list_filter = ["project", "type", "enabled"]
    readonly_fields = [
        "evaluator_calls",
        "evaluator_prompt_tokens",
        "evaluator_completion_tokens",
        "evaluator_cost",
    ]
    lead_can_add = True
    lead_can_delete = True


@admin.register(Flag)
class FlagAdmin(LeadScopedAdmin):
    list_display = [
        "interaction",
        "check_config",
        "flagged",
        "severity",
        "score",
        "label",
        "created_at",
    ]
    list_filter = ["project", "check_config", "flagged", "severity"]
    raw_id_fields = ["interaction"]
    list_select_related = ["check_config", "interaction"]
    readonly_fields = ["project", "interaction", "check_config", "created_at"]
    show_full_result_count = False
