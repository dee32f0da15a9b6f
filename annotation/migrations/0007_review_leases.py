from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("annotation", "0006_checks_security")]

    operations: list[migrations.operations.base.Operation] = []
