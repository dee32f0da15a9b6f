from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("annotation", "0009_settle_report")]

    operations = [
        migrations.AddField(
            model_name="project",
            name="otlp_request_id_attribute",
            field=models.CharField(blank=True, max_length=200),
        ),
    ]
