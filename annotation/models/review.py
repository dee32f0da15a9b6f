"""Review: guidelines, queues filled from sampled interactions, leases, annotations.

The life of a queue item (`QueueItem.state`):

    open ──lease fills the last free slot──▶ in_progress ──lease expires / skip / release──▶ open
      │                                          │
      │  (every slot annotated)                  │ (every slot annotated)
      ▼                                          ▼
    done  ◀──adjudication──  needs_adjudication  (annotators disagree on an `agreement` field)

    open / in_progress ──it can no longer reach k (too few assigned members left who have not
    annotated or skipped it): settled on what it has──▶
        no annotation                          ──▶ skipped
        fewer than min_annotations_to_settle   ──▶ needs_adjudication (the lead decides)
        at least min_annotations_to_settle     ──▶ done, or needs_adjudication on disagreement
    skipped ──annotators are assigned to the queue──▶ open
    skipped / open / in_progress ──its annotator undoes a skip──▶ open / in_progress

An item has `annotations_wanted` (the queue's overlap, k) slots. A slot is free when it is neither
annotated nor held by an unexpired lease: `annotations_done + leases_active < annotations_wanted`.
`open` means at least one slot is free; `in_progress` means every slot not yet annotated is leased.
Annotations are never dropped: only an item without any is `skipped`, and one that arrives on a
lease held while its item was settled short is kept and the item settled again
(`annotation.services.item_state`). An annotator holds at most one active lease per queue.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from annotation.models.interaction import Interaction
from annotation.models.project import Project

MAX_OVERLAP = 10
# Four weeks: a longer schedule is a typo, and a huge one overflows the next fill's time.
MAX_FILL_EVERY_MINUTES = 4 * 7 * 24 * 60


def new_seed() -> int:
    return secrets.randbelow(2**31)


class Guideline(models.Model):
    """One version of a project's annotation guideline (markdown). Versions are never edited."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="guidelines")
    version = models.PositiveIntegerField()
    text = models.TextField(help_text="Markdown.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "version"], name="guideline_version_unique_per_project"
            )
        ]
        ordering = ["project", "-version"]

    def __str__(self) -> str:
        return f"{self.project.name} guideline v{self.version}"


class QueueState(models.TextChoices):
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class Queue(models.Model):
    """A review queue: which interactions to sample, how to label them, who labels them.

    `sources`, `filters` and `schema` are JSON validated by `annotation.schemas`; the services
    call `full_clean()` before saving, and so does the admin.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="queues")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Null follows the project's latest guideline; set, it pins one version.
    guideline = models.ForeignKey(
        Guideline, on_delete=models.PROTECT, null=True, blank=True, related_name="queues"
    )
    schema = models.JSONField(default=dict, help_text='Label schema: {"fields": [...]}.')
    sources = models.JSONField(default=list, help_text="Sampling rules, see README.")
    filters = models.JSONField(default=dict, blank=True)
    # Reason names, most important first; items matching earlier reasons are served first and
    # kept first when the queue is at capacity. Empty: the order of `sources`.
    priority = models.JSONField(default=list, blank=True)
    overlap = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(MAX_OVERLAP)]
    )
    capacity = models.PositiveIntegerField(
        default=1000,
        validators=[MinValueValidator(1)],
        help_text="Most unfinished (open or in progress) items the queue holds after a fill.",
    )
    lease_minutes = models.PositiveSmallIntegerField(
        default=15, validators=[MinValueValidator(1), MaxValueValidator(24 * 60)]
    )
    # Empty means the overlap: an item that cannot reach its overlap goes to adjudication.
    min_annotations_to_settle = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_OVERLAP)],
        help_text="Fewest annotations an item that can no longer reach its overlap is settled "
        "on (1 to the overlap); empty means the overlap.",
    )
    annotators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="review_queues"
    )
    state = models.CharField(max_length=16, choices=QueueState.choices, default=QueueState.ACTIVE)
    # Random sources draw with this seed unless they name their own.
    seed = models.BigIntegerField(default=new_seed)
    fill_every_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_FILL_EVERY_MINUTES)],
        help_text="Fill on this schedule (Celery beat); empty fills only on demand.",
    )
    next_fill_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "name"], name="queue_name_unique_per_project"
            ),
            models.CheckConstraint(
                condition=models.Q(overlap__gte=1, overlap__lte=MAX_OVERLAP),
                name="queue_overlap_in_range",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_fill_at"],
                name="queue_fill_due",
                condition=models.Q(state="active", fill_every_minutes__isnull=False),
            )
        ]
        ordering = ["project", "name"]

    def __str__(self) -> str:
        return f"{self.project.name}/{self.name}"


class FillStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class FillTrigger(models.TextChoices):
    MANUAL = "manual"
    SCHEDULE = "schedule"


class QueueFill(models.Model):
    """One run of a queue fill: when, by whom, and how many items it added for which reason."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="fills")
    task_id = models.CharField(max_length=64, blank=True)
    trigger = models.CharField(max_length=16, choices=FillTrigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=FillStatus.choices, default=FillStatus.PENDING)
    added = models.PositiveIntegerField(default=0)
    by_reason = models.JSONField(default=dict, blank=True)
    room = models.PositiveIntegerField(
        null=True, blank=True, help_text="Free capacity when the fill ran."
    )
    # Per stratum (the most important reason that picked a candidate): candidates and taken.
    strata = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"fill {self.pk} of {self.queue}"

    @property
    def capacity_reached(self) -> bool:
        return self.status == FillStatus.DONE and self.room is not None and self.added >= self.room


class ItemState(models.TextChoices):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    NEEDS_ADJUDICATION = "needs_adjudication"
    DONE = "done"
    SKIPPED = "skipped"


UNFINISHED_STATES = (ItemState.OPEN, ItemState.IN_PROGRESS)
# An annotator may revise their annotation until the item is settled.
REVISABLE_STATES = (ItemState.OPEN, ItemState.IN_PROGRESS, ItemState.NEEDS_ADJUDICATION)


class QueueItem(models.Model):
    """An interaction in a queue, with every reason it was sampled and its inclusion probability."""

    # No database-level foreign keys: a fill inserts tens of thousands of rows with one
    # INSERT … SELECT, and a per-row FK trigger for each of these three would cost more than the
    # insert itself (measured by bench/queues.py); the interaction table is also to be
    # range-partitioned by time, which a plain FK cannot reference. Django cascades deletes, and
    # rows are only written by the services, which take the ids from the rows they reference.
    queue = models.ForeignKey(
        Queue, on_delete=models.CASCADE, related_name="items", db_constraint=False
    )
    interaction = models.ForeignKey(
        Interaction, on_delete=models.CASCADE, related_name="queue_items", db_constraint=False
    )
    fill = models.ForeignKey(
        QueueFill,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="items",
        db_constraint=False,
    )
    reasons = models.JSONField(default=list, help_text="Names of the sources that picked it.")
    inclusion_probability = models.FloatField(
        help_text="Probability that its fill took this interaction, given the fill's candidates: "
        "the sources' draws and the capacity's stratum fractions (README, Inclusion probability)."
    )
    # The sources' part of it, 1 - Π(1 - rate) over the sources whose criteria it meets.
    source_probability = models.FloatField(default=1.0, db_default=1.0)
    # The most important reason that picked it (its stratum in the fill) and the share of that
    # stratum's candidates the fill took (1 when capacity did not cut it).
    stratum = models.CharField(max_length=63, blank=True, default="", db_default="")
    stratum_fraction = models.FloatField(default=1.0, db_default=1.0)
    priority = models.IntegerField(default=0)
    state = models.CharField(max_length=24, choices=ItemState.choices, default=ItemState.OPEN)
    annotations_wanted = models.PositiveSmallIntegerField()
    annotations_done = models.PositiveSmallIntegerField(default=0)
    leases_active = models.PositiveSmallIntegerField(default=0)
    skips = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["queue", "interaction"], name="queue_item_unique_per_queue"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    annotations_done__lte=models.F("annotations_wanted"),
                    leases_active__lte=models.F("annotations_wanted")
                    - models.F("annotations_done"),
                ),
                name="queue_item_slots_not_oversubscribed",
            ),
        ]
        indexes = [
            # `next`: the highest-priority open item, oldest first.
            models.Index(
                "queue",
                models.F("priority").desc(),
                "id",
                name="queue_item_next",
                condition=models.Q(state="open"),
            ),
            models.Index(fields=["queue", "state"], name="queue_item_state"),
            models.Index(fields=["fill"], name="queue_item_fill"),
        ]
        # No ordering through the queue: it would join queue and project into every query.
        ordering = ["-priority", "id"]

    def __str__(self) -> str:
        return f"item {self.pk} of {self.queue_id}"

    @property
    def free_slots(self) -> int:
        return self.annotations_wanted - self.annotations_done - self.leases_active


class LeaseState(models.TextChoices):
    ACTIVE = "active"
    SUBMITTED = "submitted"
    SKIPPED = "skipped"
    EXPIRED = "expired"


class Lease(models.Model):
    """One annotator's hold on one slot of an item, until `expires_at`.

    One row per (item, annotator), so the database itself guarantees that no annotator holds two
    slots of one item. An expired row is renewed if the same annotator is given the item again.
    """

    item = models.ForeignKey(QueueItem, on_delete=models.CASCADE, related_name="leases")
    # Denormalised from item so expiry sweeps and stats of one queue use one index.
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="leases")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="leases"
    )
    state = models.CharField(max_length=16, choices=LeaseState.choices, default=LeaseState.ACTIVE)
    # The guideline the annotator was shown with the item; the annotation records it.
    guideline = models.ForeignKey(
        Guideline, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    leased_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "annotator"], name="lease_one_per_annotator"),
            # One item at a time per annotator and queue, even under concurrent `next` calls.
            models.UniqueConstraint(
                fields=["queue", "annotator"],
                condition=models.Q(state="active"),
                name="lease_one_active_per_queue",
            ),
        ]
        indexes = [
            models.Index(
                fields=["queue", "expires_at"],
                name="lease_active_expiry",
                condition=models.Q(state="active"),
            ),
            models.Index(fields=["queue", "annotator", "state"], name="lease_queue_annotator"),
        ]

    def __str__(self) -> str:
        return f"lease of item {self.item_id} to {self.annotator_id}"


class Annotation(models.Model):
    """One annotator's labels for one item, validated against the queue's schema."""

    item = models.ForeignKey(QueueItem, on_delete=models.CASCADE, related_name="annotations")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotations"
    )
    values = models.JSONField(default=dict)
    guideline = models.ForeignKey(
        Guideline, on_delete=models.PROTECT, null=True, blank=True, related_name="annotations"
    )
    seconds = models.FloatField(null=True, blank=True, help_text="Time spent on the item.")
    revision = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item", "annotator"], name="annotation_one_per_annotator"
            )
        ]
        indexes = [models.Index(fields=["annotator", "created_at"], name="annotation_annotator")]
        ordering = ["item", "created_at"]

    def __str__(self) -> str:
        return f"annotation of item {self.item_id} by {self.annotator_id}"


class Adjudication(models.Model):
    """A lead's final values for an item whose annotators disagreed."""

    item = models.OneToOneField(QueueItem, on_delete=models.CASCADE, related_name="adjudication")
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    values = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"adjudication of item {self.item_id}"


class QueueCounter(models.Model):
    """Running counts of a queue's items, kept by database triggers in the same transaction as
    every change (README "Progress counters"): items by `state` and by `reason`, annotations by
    annotator (`done_by`) and skips by annotator (`skipped_by`, the name is the user id).

    On PostgreSQL each change appends a row with its `delta` (no row is ever updated by two
    writers, so concurrent leases never wait on a counter or deadlock); `queue_counters_compact`
    folds a queue's rows into one per name every minute. SQLite (one writer) adds to one row per
    name. Either way a queue's count is the sum of its rows for that kind and name.
    """

    queue = models.ForeignKey(
        Queue, on_delete=models.CASCADE, related_name="counters", db_constraint=False
    )
    kind = models.CharField(max_length=16)
    name = models.CharField(max_length=64)
    delta = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["queue", "kind", "name"], name="queue_counter_lookup")]

    def __str__(self) -> str:
        return f"{self.kind} {self.name} of queue {self.queue_id}: {self.delta:+d}"


# Items a lead added by hand (the explorer's "send to queue"): no sampling design chose them, so
# weighted estimates and a check's catch statistics leave them out.
MANUAL = "manual"
MANUAL_ITEMS = models.Q(fill__isnull=True, stratum=MANUAL)
