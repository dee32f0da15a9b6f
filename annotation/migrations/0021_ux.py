import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0020_audit_keys"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations: list[migrations.operations.base.Operation] = [
        migrations.CreateModel(
            name="ExportPreset",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100)),
                ("request", models.JSONField(default=dict)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "project",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="export_presets",
                        to="annotation.project",
                    ),
                ),
            ],
            options={"ordering": ["name"]},
        ),
        migrations.AddConstraint(
            model_name="exportpreset",
            constraint=models.UniqueConstraint(
                fields=("project", "name"), name="export_preset_name_unique"
            ),
        ),
        migrations.AlterField(
            model_name="export",
            name="kind",
            field=models.CharField(
                choices=[
                    ("sft", "Supervised fine-tuning (chat messages)"),
                    ("preference", "Preference pairs (TRL prompt/chosen/rejected)"),
                    (
                        "openai_dpo",
                        "Preference pairs (OpenAI input/preferred_output/non_preferred_output)",
                    ),
                    ("eval", "Evaluation set"),
                    ("retrieval", "Retrieval relevance"),
                    ("annotations", "Every annotation"),
                ],
                max_length=16,
            ),
        ),
    ]
