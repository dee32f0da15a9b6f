from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0018_alerts"),
    ]

    operations: list[migrations.operations.base.Operation] = []
