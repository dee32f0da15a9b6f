from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("annotation", "0011_project_otlp")]

    operations = [
        migrations.AddField(
            model_name="projectkey",
            name="scope",
            field=models.CharField(
                choices=[("ingest", "Ingestion"), ("feedback", "Widget feedback only")],
                default="ingest",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="projectkey",
            name="allowed_origins",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
