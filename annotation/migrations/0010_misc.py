from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("annotation", "0009_settle_report")]

    operations: list[migrations.operations.base.Operation] = []
