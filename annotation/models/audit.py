"""The audit log: who did what to which object, recorded once and never changed.

Append-only in every layer the application has: `save()` refuses to update a stored event,
`delete()` refuses, and the manager's querysets refuse `update()`, `delete()` and
`bulk_update()`. The one change allowed is the database's own: when the project or the user an
event names is deleted, the reference becomes NULL (`actor_label` keeps who it was). On
PostgreSQL a trigger (migration 0020) refuses every other UPDATE and every DELETE, so not even
SQL typed into a shell can rewrite the record.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models

from annotation.models.project import Project


class AuditImmutable(Exception):
    """Raised on any attempt to change or remove an audit event."""

    def __init__(self, what: str = "changed") -> None:
        super().__init__(f"Audit events are append-only: they cannot be {what}.")


class AuditAction(models.TextChoices):
    EXPORT_CREATED = "export.created", "Export created"
    EXPORT_DOWNLOAD = "export.download", "Export downloaded"
    QUEUE_CREATED = "queue.created", "Queue created"
    QUEUE_CHANGED = "queue.changed", "Queue changed"
    QUEUE_ITEMS_ADDED = "queue.items_added", "Items added to a queue"
    CHECK_CREATED = "check.created", "Check created"
    CHECK_CHANGED = "check.changed", "Check changed"
    GUIDELINE_PUBLISHED = "guideline.published", "Guideline published"
    PRIVACY_ERASE = "privacy.erase", "End user's data erased"
    PRIVACY_RETENTION = "privacy.retention", "Data past its retention deleted"
    PRIVACY_SETTINGS_CHANGED = "privacy.settings_changed", "Privacy settings changed"
    ALERT_RULE_CREATED = "alert_rule.created", "Alert rule created"
    ALERT_RULE_CHANGED = "alert_rule.changed", "Alert rule changed"
    ALERT_RULE_DELETED = "alert_rule.deleted", "Alert rule deleted"
    WEBHOOK_CREATED = "webhook.created", "Webhook created"
    WEBHOOK_CHANGED = "webhook.changed", "Webhook changed"
    WEBHOOK_DELETED = "webhook.deleted", "Webhook deleted"
    TRIGGER_CREATED = "trigger.created", "Pipeline trigger created"
    TRIGGER_CHANGED = "trigger.changed", "Pipeline trigger changed"
    TRIGGER_DELETED = "trigger.deleted", "Pipeline trigger deleted"
    KEY_CREATED = "key.created", "Project key created"
    KEY_REVOKED = "key.revoked", "Project key revoked"
    KEY_ROTATED = "key.rotated", "Project key rotated"
    TOKEN_CREATED = "token.created", "User token created"
    TOKEN_REVOKED = "token.revoked", "User token revoked"
    TOKEN_ROTATED = "token.rotated", "User token rotated"
    ROLE_CHANGED = "membership.role_changed", "Role changed"
    LOGIN_FAILED = "login.failed", "Login failed"
    LOGIN_LOCKED = "login.locked", "Login locked after repeated failures"
    LOGIN_SSO = "login.sso", "Signed in through single sign-on"


# The only columns the database may change on a stored event, and only to NULL (ON DELETE SET NULL).
_NULLABLE_REFERENCES = frozenset({"project", "project_id", "actor", "actor_id"})


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        # Deleting a project or a user sets its references to NULL through this method.
        if (
            kwargs
            and set(kwargs) <= _NULLABLE_REFERENCES
            and all(v is None for v in kwargs.values())
        ):
            return super().update(**kwargs)
        raise AuditImmutable("changed")

    def delete(self) -> NoReturn:
        raise AuditImmutable("deleted")

    def _raw_delete(self, using: Any) -> NoReturn:
        raise AuditImmutable("deleted")

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> NoReturn:
        raise AuditImmutable("changed")


class AuditEventManager(models.Manager["AuditEvent"]):
    def get_queryset(self) -> AuditEventQuerySet:
        return AuditEventQuerySet(self.model, using=self._db)


class AuditEvent(models.Model):
    """One sensitive action: who (user and label), what, in which project, on which object."""

    project = models.ForeignKey(
        Project, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who it was at the time, kept when the user is deleted: a username, `key:<prefix>` for a
    # project key, the name tried at a failed login, or `system`.
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, choices=AuditAction.choices)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=255, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AuditEventManager()

    class Meta:
        ordering = ["-created_at"]
        base_manager_name = "objects"
        indexes = [
            models.Index(fields=["project", "-created_at"], name="audit_by_project"),
            models.Index(fields=["target_type", "target_id"], name="audit_by_target"),
            models.Index(fields=["project", "action", "-created_at"], name="audit_by_action"),
        ]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_label or self.actor_id} at {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditImmutable("changed")
        if not self.actor_label:
            self.actor_label = self.actor.get_username() if self.actor is not None else "system"
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditImmutable("deleted")

    @property
    def target(self) -> str:
        return f"{self.target_type}:{self.target_id}" if self.target_type else self.target_id

    @property
    def details(self) -> dict[str, Any]:
        return dict(self.metadata)
