from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0021_ux"),
    ]

    operations: list[migrations.operations.base.Operation] = []
