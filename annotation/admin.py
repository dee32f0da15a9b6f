"""The Django admin, scoped so a lead sees and edits only the projects they lead."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from annotation.checks.config import CheckConfigError
from annotation.models import (
    AgreementReport,
    ApiToken,
    AuditEvent,
    Check,
    Export,
    Feedback,
    Flag,
    Interaction,
    Membership,
    Project,
    ProjectKey,
    Role,
)
from annotation.models.review import (
    Adjudication,
    Annotation,
    Guideline,
    Lease,
    Queue,
    QueueFill,
    QueueItem,
    QueueState,
)
from annotation.selectors.projects import projects_for_user
from annotation.services.check_config import check_validate
from annotation.services.guidelines import guideline_publish


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


# -- Review queues ---------------------------------------------------------------------------------


@admin.register(Guideline)
class GuidelineAdmin(LeadScopedAdmin):
    list_display = ["project", "version", "created_by", "created_at"]
    list_filter = ["project"]
    lead_can_add = True

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        # A published version is never edited; publish a new one instead.
        if obj is not None:
            return ["project", "version", "text", "created_by", "created_at"]
        return ["version", "created_by", "created_at"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            return
        published = guideline_publish(
            project=obj.project,
            text=obj.text,
            created_by=request.user,  # type: ignore[arg-type]
        )
        obj.pk, obj.version, obj.created_at = published.pk, published.version, published.created_at


@admin.register(Queue)
class QueueAdmin(LeadScopedAdmin):
    list_display = ["name", "project", "state", "overlap", "capacity", "fill_every_minutes"]
    list_filter = ["project", "state"]
    search_fields = ["name"]
    filter_horizontal = ["annotators"]
    readonly_fields = ["next_fill_at", "created_by", "created_at", "updated_at"]
    lead_can_add = True
    lead_can_delete = True

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "guideline" and not request.user.is_superuser:
            kwargs["queryset"] = Guideline.objects.filter(project__in=led_projects(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "annotators" and not request.user.is_superuser:
            members = Membership.objects.filter(project__in=led_projects(request))
            kwargs["queryset"] = get_user_model().objects.filter(pk__in=members.values("user_id"))
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user
            if obj.fill_every_minutes and obj.state == QueueState.ACTIVE:
                obj.next_fill_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(QueueFill)
class QueueFillAdmin(LeadScopedAdmin):
    project_path = "queue__project"
    list_display = ["id", "queue", "status", "trigger", "added", "created_at", "finished_at"]
    list_filter = ["status", "trigger"]
    readonly_fields = [
        "queue",
        "task_id",
        "trigger",
        "requested_by",
        "status",
        "added",
        "by_reason",
        "room",
        "error",
        "created_at",
        "started_at",
        "finished_at",
    ]


class AnnotationInline(admin.TabularInline):
    model = Annotation
    extra = 0
    fields = ["annotator", "values", "guideline", "seconds", "revision", "updated_at"]
    readonly_fields = ["annotator", "values", "guideline", "seconds", "revision", "updated_at"]
    can_delete = False


@admin.register(QueueItem)
class QueueItemAdmin(LeadScopedAdmin):
    project_path = "queue__project"
    list_display = [
        "id",
        "queue",
        "interaction",
        "state",
        "priority",
        "inclusion_probability",
        "annotations_done",
        "annotations_wanted",
    ]
    list_filter = ["state", "queue"]
    list_select_related = ["queue", "interaction"]
    raw_id_fields = ["interaction"]
    readonly_fields = [
        "queue",
        "interaction",
        "fill",
        "reasons",
        "inclusion_probability",
        "priority",
        "annotations_wanted",
        "annotations_done",
        "leases_active",
        "skips",
        "created_at",
        "updated_at",
        "finished_at",
    ]
    inlines = [AnnotationInline]
    show_full_result_count = False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # States move only through the leasing and annotation services.
        return False


@admin.register(Annotation)
class AnnotationAdmin(LeadScopedAdmin):
    project_path = "item__queue__project"
    list_display = ["id", "item", "annotator", "guideline", "seconds", "revision", "updated_at"]
    list_filter = ["item__queue"]
    list_select_related = ["item", "annotator", "guideline"]
    readonly_fields = [
        "item",
        "annotator",
        "values",
        "guideline",
        "seconds",
        "revision",
        "created_at",
        "updated_at",
    ]

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyScopedAdmin(LeadScopedAdmin):
    """Records written only by services and tasks: leads read them here, nobody edits them."""

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Lease)
class LeaseAdmin(ReadOnlyScopedAdmin):
    project_path = "queue__project"
    list_display = ["item", "annotator", "state", "leased_at", "expires_at", "finished_at"]
    list_filter = ["state", "queue"]
    list_select_related = ["item", "annotator"]
    raw_id_fields = ["item"]


@admin.register(Adjudication)
class AdjudicationAdmin(ReadOnlyScopedAdmin):
    project_path = "item__queue__project"
    list_display = ["item", "lead", "created_at"]
    list_select_related = ["item", "lead"]
    raw_id_fields = ["item"]


@admin.register(AgreementReport)
class AgreementReportAdmin(ReadOnlyScopedAdmin):
    project_path = "queue__project"
    list_display = ["id", "queue", "status", "progress", "created_at", "finished_at"]
    list_filter = ["status", "queue"]
    list_select_related = ["queue"]


@admin.register(Export)
class ExportAdmin(ReadOnlyScopedAdmin):
    list_display = ["id", "project", "kind", "format", "status", "rows", "created_by", "created_at"]
    list_filter = ["project", "kind", "status"]
    list_select_related = ["project", "created_by"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyScopedAdmin):
    list_display = ["created_at", "project", "actor", "action", "target_type", "target_id"]
    list_filter = ["project", "action"]
    list_select_related = ["project", "actor"]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
