from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0020_audit_keys"),
    ]

    operations: list[migrations.operations.base.Operation] = []
