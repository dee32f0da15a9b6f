import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0014_explorer"),
    ]

    operations = [
        migrations.CreateModel(
            name="InsightReport",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("slices", "Worst metadata slices"),
                            ("themes", "Comment themes"),
                            ("retrieval", "Retrieval"),
                            ("signals", "Retraining signal"),
                        ],
                        max_length=16,
                    ),
                ),
                ("since", models.DateTimeField()),
                ("until", models.DateTimeField()),
                (
                    "state",
                    models.CharField(
                        choices=[("pending", "Pending"), ("done", "Done"), ("failed", "Failed")],
                        default="pending",
                        max_length=16,
                    ),
                ),
                ("body", models.JSONField(blank=True, default=dict)),
                ("error", models.TextField(blank=True)),
                ("requested_at", models.DateTimeField()),
                ("computed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "project",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="annotation.project",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["project", "kind", "-requested_at"], name="insight_report_latest"
                    )
                ],
            },
        ),
    ]
