from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("annotation", "0008_sampling_strata")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AddField(
            model_name="check",
            name="catches",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
