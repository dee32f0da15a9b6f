from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0019_privacy"),
    ]

    operations: list[migrations.operations.base.Operation] = []
