import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0017_webhooks"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AlertRule",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100)),
                (
                    "metric",
                    models.CharField(
                        choices=[
                            ("negative_feedback_rate", "Negative-feedback rate"),
                            ("mean_rating", "Mean normalised rating"),
                            ("flag_rate", "Flag rate"),
                            ("implicit_negative_rate", "Implicit-negative rate"),
                            ("reviewed_bad_rate", "Reviewed bad rate (weighted)"),
                            ("volume", "Volume (interactions per hour)"),
                        ],
                        max_length=32,
                    ),
                ),
                ("filters", models.JSONField(blank=True, default=dict)),
                ("min_severity", models.PositiveSmallIntegerField(default=0)),
                ("window_minutes", models.PositiveIntegerField(default=60)),
                ("baseline_minutes", models.PositiveIntegerField(default=1440)),
                (
                    "condition_type",
                    models.CharField(
                        choices=[
                            ("threshold", "Above (or below) a threshold"),
                            ("relative_increase", "Relative change against the baseline"),
                            ("zscore", "z-score against the baseline's buckets"),
                        ],
                        default="threshold",
                        max_length=24,
                    ),
                ),
                ("condition_value", models.FloatField()),
                (
                    "direction",
                    models.CharField(
                        choices=[("above", "Above"), ("below", "Below")],
                        default="above",
                        max_length=8,
                    ),
                ),
                ("min_count", models.PositiveIntegerField(default=20)),
                ("cooldown_minutes", models.PositiveIntegerField(default=60)),
                ("active", models.BooleanField(default=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("last_evaluated_at", models.DateTimeField(blank=True, null=True)),
                (
                    "check_config",
                    models.ForeignKey(
                        blank=True,
                        db_column="check_id",
                        help_text="The check whose flag rate a flag_rate rule watches.",
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="alert_rules",
                        to="annotation.check",
                    ),
                ),
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
                        related_name="alert_rules",
                        to="annotation.project",
                    ),
                ),
                (
                    "triggers",
                    models.ManyToManyField(
                        blank=True, related_name="alert_rules", to="annotation.trigger"
                    ),
                ),
                (
                    "webhooks",
                    models.ManyToManyField(
                        blank=True, related_name="alert_rules", to="annotation.webhook"
                    ),
                ),
            ],
            options={
                "ordering": ["project", "name"],
            },
        ),
        migrations.CreateModel(
            name="Alert",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[("firing", "Firing"), ("resolved", "Resolved")],
                        default="firing",
                        max_length=16,
                    ),
                ),
                ("fired_at", models.DateTimeField()),
                ("resolved_at", models.DateTimeField(blank=True, null=True)),
                ("value", models.FloatField(blank=True, null=True)),
                ("baseline", models.FloatField(blank=True, null=True)),
                (
                    "count",
                    models.PositiveIntegerField(default=0, help_text="The window's sample size."),
                ),
                ("ci_low", models.FloatField(blank=True, null=True)),
                ("ci_high", models.FloatField(blank=True, null=True)),
                ("window_start", models.DateTimeField()),
                ("window_end", models.DateTimeField()),
                ("details", models.JSONField(blank=True, default=dict)),
                (
                    "rule",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="alerts",
                        to="annotation.alertrule",
                    ),
                ),
            ],
            options={
                "ordering": ["-fired_at", "-id"],
            },
        ),
        migrations.AddIndex(
            model_name="alertrule",
            index=models.Index(fields=["active", "project"], name="alert_rule_active"),
        ),
        migrations.AddConstraint(
            model_name="alertrule",
            constraint=models.UniqueConstraint(
                fields=("project", "name"), name="alert_rule_unique_name"
            ),
        ),
        migrations.AddIndex(
            model_name="alert",
            index=models.Index(fields=["rule", "-fired_at"], name="alert_by_rule"),
        ),
        migrations.AddIndex(
            model_name="alert",
            index=models.Index(fields=["state", "rule"], name="alert_by_state"),
        ),
        migrations.AddConstraint(
            model_name="alert",
            constraint=models.UniqueConstraint(
                condition=models.Q(("state", "firing")),
                fields=("rule",),
                name="alert_one_firing_per_rule",
            ),
        ),
    ]
