from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0016_concurrent_indexes"),
    ]

    operations: list[migrations.operations.base.Operation] = []
