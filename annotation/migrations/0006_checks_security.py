from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("annotation", "0005_feedback_id")]

    operations: list[migrations.operations.base.Operation] = []
