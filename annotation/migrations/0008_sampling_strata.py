import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("annotation", "0007_review_leases")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AddField(
            model_name="queueitem",
            name="source_probability",
            field=models.FloatField(db_default=1.0, default=1.0),
        ),
        migrations.AddField(
            model_name="queueitem",
            name="stratum",
            field=models.CharField(blank=True, db_default="", default="", max_length=63),
        ),
        migrations.AddField(
            model_name="queueitem",
            name="stratum_fraction",
            field=models.FloatField(db_default=1.0, default=1.0),
        ),
        migrations.AddField(
            model_name="queuefill",
            name="strata",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AlterField(
            model_name="queue",
            name="fill_every_minutes",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Fill on this schedule (Celery beat); empty fills only on demand.",
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(40320),
                ],
            ),
        ),
        migrations.AlterField(
            model_name="queueitem",
            name="inclusion_probability",
            field=models.FloatField(
                help_text="Probability that its fill took this interaction, given the fill's "
                "candidates: the sources' draws and the capacity's stratum fractions (README, "
                "Inclusion probability)."
            ),
        ),
        # Items filled before strata existed: capacity was not accounted for, so their recorded
        # probability is the sources' part.
        migrations.RunSQL(
            "UPDATE annotation_queueitem SET source_probability = inclusion_probability",
            migrations.RunSQL.noop,
        ),
    ]
