"""The Django admin, scoped so a lead sees and edits only the projects they lead."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import HttpRequest

from annotation.admin_scope import LeadScopedAdmin, ReadOnlyScopedAdmin
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
from annotation.schemas.queue_definition import queue_definition_errors
from annotation.services.check_config import check_save, check_validate
from annotation.services.guidelines import guideline_publish, guideline_text_problem
from annotation.services.ingestion import feedback_link_check, feedback_update
from annotation.services.projects import membership_set
from annotation.services.queues import (
    EDITABLE_FIELDS,
    queue_create,
    queue_links_check,
    queue_update,
)


def _add_errors(form: forms.ModelForm, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form's fields, so the admin shows it there."""
    if hasattr(exc, "error_dict"):
        for field, messages in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, exc.messages)


@admin.register(Project)
class ProjectAdmin(LeadScopedAdmin):
    list_display = ["name", "description", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["created_at"]


@admin.register(ProjectKey)
class ProjectKeyAdmin(LeadScopedAdmin):
    list_display = [
        "prefix",
        "project",
        "name",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = ["project"]
    # Keys are created by `createproject` or the keys page (shown once); here they can be renamed,
    # or revoked through the audited service (the action below), never un-revoked.
    readonly_fields = [
        "project",
        "prefix",
        "key_hash",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    actions = ["revoke_keys"]

    @admin.action(description="Revoke the selected keys now")
    def revoke_keys(self, request: HttpRequest, queryset: Any) -> None:
        from annotation.services.credentials import project_key_revoke

        for key in queryset.filter(revoked_at__isnull=True):
            project_key_revoke(key=key, actor=request.user, request=request)


@admin.register(Membership)
class MembershipAdmin(LeadScopedAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["project", "role"]
    search_fields = ["user__username"]
    lead_can_add = True
    lead_can_delete = True

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        # A membership changes its role; moving it to another person or project is a new one.
        return ["user", "project", "created_at"] if obj is not None else ["created_at"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = membership_set(project=obj.project, user=obj.user, role=obj.role)
        obj.pk, obj.created_at = saved.pk, saved.created_at
        obj._state.adding = False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "user",
        "name",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    readonly_fields = [
        "user",
        "prefix",
        "key_hash",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    search_fields = ["user__username"]
    actions = ["revoke_tokens"]

    @admin.action(description="Revoke the selected tokens now")
    def revoke_tokens(self, request: HttpRequest, queryset: Any) -> None:
        from annotation.services.credentials import user_token_revoke

        for token in queryset.filter(revoked_at__isnull=True):
            user_token_revoke(token=token, actor=request.user, request=request)


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
    inlines = [FeedbackInline]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Interactions arrive through ingestion (API or import_interactions).
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        # An interaction is a record of what happened: checks, rollups, queues and exports have
        # read it, so it is never edited afterwards (erasure and retention delete it whole).
        return [field.name for field in Interaction._meta.concrete_fields]


class FeedbackAdminForm(forms.ModelForm):
    """Refuses a link to an interaction of another project, whoever edits."""

    class Meta:
        model = Feedback
        fields = [
            "interaction",
            "kind",
            "source",
            "value",
            "scale",
            "normalized_score",
            "labels",
            "text",
            "event",
            "metadata",
            "timestamp",
            "feedback_id",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "interaction" in cleaned and self.instance.project_id is not None:
            try:
                feedback_link_check(feedback=self.instance, interaction=cleaned["interaction"])
            except ValidationError as exc:
                _add_errors(self, exc)
        return cleaned


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
    form = FeedbackAdminForm

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Feedback arrives through ingestion (API or import_interactions).
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        feedback_update(feedback=obj, fields=form.changed_data)


class _AsciiJSONEncoder(json.JSONEncoder):
    """Writes non-ASCII text as \\u escapes, so parameters holding a lone surrogate (refused
    by the validation) are shown again with the error instead of failing to encode."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ensure_ascii"] = True
        super().__init__(*args, **kwargs)


class CheckAdminForm(forms.ModelForm):
    """Validates parameters exactly as the API does, so a bad configuration never reaches a worker."""

    parameters = forms.JSONField(required=False, encoder=_AsciiJSONEncoder)

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
    list_select_related = ["project"]
    lead_can_add = True
    lead_can_delete = True

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        # Its flags and the queues that sample them belong to its project: a check never moves.
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "project"] if obj is not None else fields

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        # Not in one transaction, unlike other admin forms: validating an LLM judge calls its
        # endpoint, and `check_save` opens its own transaction only after that answered.
        return self._changeform_view(request, object_id, form_url, extra_context)  # type: ignore[attr-defined]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Saved by `check_save`, as the API and the check pages do (validation, audit event)."""
        try:
            saved = check_save(
                project=obj.project,
                name=obj.name,
                check_type=obj.type,
                parameters=obj.parameters,
                severity=obj.severity,
                enabled=obj.enabled,
                sample_rate=obj.sample_rate,
                check=obj if change else None,
                actor=request.user,
            )
        except CheckConfigError as exc:
            raise ValidationError({exc.field or "parameters": exc.message}) from None
        obj.pk = saved.pk


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

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Flags are the checks' verdicts.
        return False


# -- Review queues ---------------------------------------------------------------------------------


class GuidelineAdminForm(forms.ModelForm):
    """The text is checked by the rule `guideline_publish` applies, as a form error."""

    class Meta:
        model = Guideline
        fields = ["project", "text"]

    def clean_text(self) -> str:
        text = str(self.cleaned_data.get("text") or "")
        problem = guideline_text_problem(text)
        if problem:
            raise forms.ValidationError(problem)
        return text


@admin.register(Guideline)
class GuidelineAdmin(LeadScopedAdmin):
    list_display = ["project", "version", "created_by", "created_at"]
    list_filter = ["project"]
    lead_can_add = True
    form = GuidelineAdminForm

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


class QueueAdminForm(forms.ModelForm):
    """The queue's own project bounds its guideline and annotators, checked as the API checks."""

    class Meta:
        model = Queue
        fields = ["project", *EDITABLE_FIELDS, "annotators"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        project_id = self.instance.project_id
        if project_id is None:
            return
        # Editing: offer only what the queue's project has (the admin already narrowed these to
        # the lead's projects).
        if "guideline" in self.fields:
            field = self.fields["guideline"]
            field.queryset = field.queryset.filter(project_id=project_id)  # type: ignore[attr-defined]
        if "annotators" in self.fields:
            field = self.fields["annotators"]
            field.queryset = field.queryset.filter(  # type: ignore[attr-defined]
                memberships__project_id=project_id
            )

    def _post_clean(self) -> None:
        # The definition's own validation (sources, filters, schema), as the services run it.
        super()._post_clean()  # type: ignore[misc]
        for field, messages in queue_definition_errors(self.instance).items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        project = cleaned.get("project") or (self.instance.project if self.instance.pk else None)
        if project is None:
            return cleaned
        try:
            queue_links_check(
                project=project,
                guideline=cleaned.get("guideline"),
                annotators=list(cleaned.get("annotators") or []),
            )
        except ValidationError as exc:
            _add_errors(self, exc)
        name = cleaned.get("name")
        if (
            self.instance.pk
            and name
            and Queue.objects.filter(project=project, name=name)
            .exclude(pk=self.instance.pk)
            .exists()
        ):
            self.add_error("name", f"Project {project.name} already has a queue named '{name}'.")
        return cleaned


@admin.register(Queue)
class QueueAdmin(LeadScopedAdmin):
    """Saves through the queue services, so the admin schedules and assigns as the API does."""

    form = QueueAdminForm
    list_display = ["name", "project", "state", "overlap", "capacity", "fill_every_minutes"]
    list_filter = ["project", "state"]
    search_fields = ["name"]
    filter_horizontal = ["annotators"]
    readonly_fields = ["next_fill_at", "created_by", "created_at", "updated_at"]
    list_select_related = ["project"]
    lead_can_add = True
    lead_can_delete = True

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        # Its items, fills and guideline belong to its project: a queue never moves.
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "project"] if obj is not None else fields

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        fields = {name: data[name] for name in EDITABLE_FIELDS if name in data}
        if change:
            changed = set(form.changed_data)
            saved = queue_update(
                queue=obj,
                annotators=list(data["annotators"]) if "annotators" in changed else None,
                **{name: value for name, value in fields.items() if name in changed},
            )
        else:
            saved = queue_create(
                project=data["project"],
                created_by=request.user,  # type: ignore[arg-type]
                annotators=list(data.get("annotators") or []),
                **fields,
            )
        obj.pk = saved.pk
        obj.refresh_from_db()
        obj._state.adding = False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # The annotators were set by the service in save_model; form.save_m2m() would set them
        # again without its checks.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


@admin.register(QueueFill)
class QueueFillAdmin(ReadOnlyScopedAdmin):
    list_display = ["id", "queue", "status", "trigger", "added", "created_at", "finished_at"]
    list_filter = ["status", "trigger", "queue"]
    list_select_related = ["queue__project"]
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
class QueueItemAdmin(ReadOnlyScopedAdmin):
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
    list_select_related = ["queue__project", "interaction"]
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


@admin.register(Annotation)
class AnnotationAdmin(ReadOnlyScopedAdmin):
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


@admin.register(Lease)
class LeaseAdmin(ReadOnlyScopedAdmin):
    list_display = ["item", "annotator", "state", "leased_at", "expires_at", "finished_at"]
    list_filter = ["state", "queue"]
    list_select_related = ["item", "annotator"]
    raw_id_fields = ["item"]


@admin.register(Adjudication)
class AdjudicationAdmin(ReadOnlyScopedAdmin):
    list_display = ["item", "lead", "created_at"]
    list_select_related = ["item", "lead"]
    raw_id_fields = ["item"]


@admin.register(AgreementReport)
class AgreementReportAdmin(ReadOnlyScopedAdmin):
    list_display = ["id", "queue", "status", "progress", "created_at", "finished_at"]
    list_filter = ["status", "queue"]
    list_select_related = ["queue__project"]


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
