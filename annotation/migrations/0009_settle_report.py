from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("annotation", "0008_sampling_strata")]

    operations: list[migrations.operations.base.Operation] = []
