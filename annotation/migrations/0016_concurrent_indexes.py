"""Interactions and feedback lose their default ordering; the feedback read-back gets its index.

The index on annotation_feedback is built CONCURRENTLY on PostgreSQL so ingestion keeps writing
while it builds; that cannot run in a transaction, hence `atomic = False` (a plain index on
SQLite, the demo). Every index this round adds on annotation_interaction or annotation_feedback
is built this way (0014's full-text index too).
"""

from django.db import migrations, models

from annotation.migration_operations import AddIndexConcurrentlyWherePossible


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("annotation", "0015_insight_reports"),
    ]

    operations = [
        migrations.AlterModelOptions(name="feedback", options={}),
        migrations.AlterModelOptions(name="interaction", options={}),
        AddIndexConcurrentlyWherePossible(
            model_name="feedback",
            index=models.Index(
                fields=["interaction", "-timestamp", "-id"], name="feedback_interaction_page"
            ),
        ),
    ]
