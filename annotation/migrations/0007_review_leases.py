import django.core.validators
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.db.models import Count, F
from django.utils import timezone


def expire_extra_active_leases(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Before one active lease per annotator and queue is enforced, keep only the latest of each."""
    lease_model = apps.get_model("annotation", "Lease")
    item_model = apps.get_model("annotation", "QueueItem")
    now = timezone.now()
    doubled = (
        lease_model.objects.filter(state="active")
        .values("queue_id", "annotator_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    for pair in doubled:
        leases = lease_model.objects.filter(
            state="active", queue_id=pair["queue_id"], annotator_id=pair["annotator_id"]
        ).order_by("-expires_at", "-id")
        for lease in list(leases)[1:]:
            lease_model.objects.filter(pk=lease.pk).update(state="expired", finished_at=now)
            item_model.objects.filter(pk=lease.item_id).update(
                leases_active=F("leases_active") - 1, updated_at=now
            )
            item_model.objects.filter(pk=lease.item_id, state="in_progress").update(state="open")


class Migration(migrations.Migration):
    dependencies = [("annotation", "0006_checks_security")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AddField(
            model_name="queue",
            name="min_annotations_to_settle",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="Fewest annotations an item that can no longer reach its overlap is "
                "settled on (1 to the overlap); empty means the overlap.",
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(10),
                ],
            ),
        ),
        migrations.RunPython(expire_extra_active_leases, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="lease",
            constraint=models.UniqueConstraint(
                condition=models.Q(("state", "active")),
                fields=("queue", "annotator"),
                name="lease_one_active_per_queue",
            ),
        ),
    ]
