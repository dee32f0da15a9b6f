from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("annotation", "0010_misc")]

    operations = [
        migrations.AddField(
            model_name="project",
            name="otlp_request_id_attribute",
            field=models.CharField(blank=True, max_length=200),
        ),
    ]
