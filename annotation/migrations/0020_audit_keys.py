"""The audit log becomes append-only (a PostgreSQL trigger refuses UPDATE and DELETE); keys and
tokens can be revoked, expire, and keys carry their own rate limit."""

from typing import Any

from django.db import migrations, models

# Every UPDATE is refused except the one ON DELETE SET NULL makes (a deleted project or user):
# the row minus its two references must stay the same, and a reference may only become NULL.
# TRUNCATE (which only an administrator runs, and the test suite between tests) is not a row
# operation and stays possible.
_CREATE_TRIGGER = """
CREATE OR REPLACE FUNCTION annotation_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit events are append-only: DELETE refused (event %)', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (to_jsonb(NEW) - 'project_id' - 'actor_id') IS DISTINCT FROM
            (to_jsonb(OLD) - 'project_id' - 'actor_id')
        OR (NEW.project_id IS NOT NULL AND NEW.project_id IS DISTINCT FROM OLD.project_id)
        OR (NEW.actor_id IS NOT NULL AND NEW.actor_id IS DISTINCT FROM OLD.actor_id) THEN
        RAISE EXCEPTION 'audit events are append-only: UPDATE refused (event %)', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS annotation_auditevent_append_only ON annotation_auditevent;
CREATE TRIGGER annotation_auditevent_append_only
    BEFORE UPDATE OR DELETE ON annotation_auditevent
    FOR EACH ROW EXECUTE FUNCTION annotation_auditevent_append_only();
"""
_DROP_TRIGGER = """
DROP TRIGGER IF EXISTS annotation_auditevent_append_only ON annotation_auditevent;
DROP FUNCTION IF EXISTS annotation_auditevent_append_only();
"""


def _on_postgresql(sql: str) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0019_privacy"),
    ]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AlterModelOptions(
            name="auditevent",
            options={"base_manager_name": "objects", "ordering": ["-created_at"]},
        ),
        migrations.AddField(
            model_name="auditevent",
            name="actor_label",
            field=models.CharField(blank=True, max_length=150),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("export.created", "Export created"),
                    ("export.download", "Export downloaded"),
                    ("queue.created", "Queue created"),
                    ("queue.changed", "Queue changed"),
                    ("queue.items_added", "Items added to a queue"),
                    ("check.created", "Check created"),
                    ("check.changed", "Check changed"),
                    ("guideline.published", "Guideline published"),
                    ("privacy.erase", "End user's data erased"),
                    ("key.created", "Project key created"),
                    ("key.revoked", "Project key revoked"),
                    ("key.rotated", "Project key rotated"),
                    ("token.created", "User token created"),
                    ("token.revoked", "User token revoked"),
                    ("token.rotated", "User token rotated"),
                    ("membership.role_changed", "Role changed"),
                    ("login.failed", "Login failed"),
                    ("login.locked", "Login locked after repeated failures"),
                    ("login.sso", "Signed in through single sign-on"),
                ],
                max_length=64,
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="target_id",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["project", "action", "-created_at"], name="audit_by_action"),
        ),
        migrations.RunPython(_on_postgresql(_CREATE_TRIGGER), _on_postgresql(_DROP_TRIGGER)),
        # Keys and tokens: revocation, expiry (rotation with a grace period), per-key rate limits.
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="revoked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="projectkey",
            name="expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="projectkey",
            name="rate_limit_per_minute",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
    ]
