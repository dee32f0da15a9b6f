from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0017_webhooks"),
    ]

    operations: list[migrations.operations.base.Operation] = []
