import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0018_alerts"),
    ]

    operations: list[migrations.operations.base.Operation] = [
        # Nullable columns without a default: adding them rewrites nothing on the hot tables.
        migrations.AddField(
            model_name="feedback",
            name="redactions",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="interaction",
            name="redactions",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="project",
            name="keep_reviewed",
            field=models.BooleanField(
                default=False,
                help_text="Retention keeps interactions that were reviewed or exported.",
            ),
        ),
        migrations.AddField(
            model_name="project",
            name="privacy_mode",
            field=models.CharField(
                choices=[
                    ("store", "Store as received"),
                    ("redact", "Redact personal data (typed placeholders)"),
                    ("drop_prompt", "Keep the response, drop the prompt"),
                ],
                default="store",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="project",
            name="retention_days",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Delete interactions older than this many days; empty keeps them.",
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(36500),
                ],
            ),
        ),
        migrations.CreateModel(
            name="ExportedInteraction",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("request_hash", models.BigIntegerField()),
                ("rows", models.PositiveIntegerField(default=1)),
                (
                    "export",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="annotation.export",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["request_hash"], name="exported_interaction_request")
                ],
            },
        ),
        migrations.CreateModel(
            name="RetentionRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("started_at", models.DateTimeField()),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("cutoff", models.DateTimeField()),
                ("retention_days", models.PositiveIntegerField()),
                ("keep_reviewed", models.BooleanField(default=False)),
                ("counts", models.JSONField(blank=True, default=dict)),
                ("kept", models.PositiveBigIntegerField(default=0)),
                ("more", models.BooleanField(default=False)),
                (
                    "project",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="retention_runs",
                        to="annotation.project",
                    ),
                ),
            ],
            options={
                "ordering": ["-started_at"],
                "indexes": [
                    models.Index(fields=["project", "-started_at"], name="retention_by_project")
                ],
            },
        ),
    ]
