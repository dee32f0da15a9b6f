from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("annotation", "0007_review_leases")]

    operations: list[migrations.operations.base.Operation] = []
