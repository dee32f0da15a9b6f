"""A project with something on every page: support traffic with feedback and flags, A/B pairs,
a guideline, two filled queues worked on by a second annotator, a disputed item, a finished
export and rolled-up dashboards. Built through the same set-up as `manage.py demo`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.test import override_settings
from django.utils import timezone

from annotation.demo import builtin_pairs, generate
from annotation.demo_setup import demo_review_setup
from annotation.models import Annotation, Export, Project, Queue
from annotation.models.actions import WebhookDelivery
from annotation.models.alerts import Alert
from annotation.models.review import ItemState, QueueFill, QueueItem
from annotation.schemas.ingestion import RatingIn
from annotation.services.alert_rules import alert_rule_create
from annotation.services.annotations import annotation_submit
from annotation.services.exports import export_create
from annotation.services.leasing import lease_next
from annotation.services.rollups import rollups_rebuild
from annotation.services.webhooks import webhook_create
from tests.conftest import Persona
from tests.factories import CheckFactory, FeedbackFactory, FlagFactory, InteractionFactory


@dataclass(frozen=True)
class Seeded:
    project: Project
    queue: Queue
    pairs: Queue
    annotation: Annotation
    disputed: QueueItem
    export: Export
    fill: QueueFill


def seed_project(
    project: Project, *, lead: Persona, annotator: Persona, other: Persona, engineer: Persona
) -> Seeded:
    now = timezone.now()
    pii = CheckFactory(project=project, name="pii-demo", type="pii", severity=30)
    rows = list(generate(80, seed=3, now=now)) + list(builtin_pairs(12, seed=3, now=now))
    for n, (item, feedback) in enumerate(rows):
        interaction = InteractionFactory(
            project=project,
            request_id=item.request_id,
            timestamp=item.timestamp or now,
            model=item.model,
            model_version=item.model_version,
            prompt_template=item.prompt_template,
            prompt_template_version=item.prompt_template_version,
            messages=[{"role": m.role, "content": m.content} for m in item.messages or []],
            response=item.response,
            retrieved_context=[
                {"id": d.id, "text": d.text, "score": d.score, "source": d.source}
                for d in item.retrieved_context
            ],
            experiment=item.experiment,
            variant=item.variant,
            metadata=item.metadata,
        )
        ratings = [f for f in feedback if isinstance(f, RatingIn)]
        if ratings or n % 3 == 0:
            low = n % 3 == 0 or any(f.value == 0 for f in ratings)
            FeedbackFactory(
                interaction=interaction,
                value=0.0 if low else 1.0,
                normalized_score=0.0 if low else 1.0,
            )
        if "@" in item.response:
            FlagFactory(check_config=pii, interaction=interaction, label="email")
    review = demo_review_setup(
        project=project,
        lead=lead.user,
        annotators=[annotator.user, other.user],
        seed=3,
    )
    queue, pairs = review.queues
    # The annotator answers against the other on an item the other already did: a dispute.
    leased = lease_next(queue=queue, annotator=annotator.user)
    assert leased is not None, "the seeded queue has nothing for the annotator"
    theirs = Annotation.objects.filter(item=leased.item).first()
    verdict = "good" if theirs is None or theirs.values.get("verdict") == "bad" else "bad"
    values = (
        {"verdict": verdict, "reasons": ["off_topic"]} if verdict == "bad" else {"verdict": verdict}
    )
    mine = annotation_submit(item_id=leased.item.pk, annotator=annotator.user, values=values)
    disputed = (
        QueueItem.objects.filter(queue=queue, state=ItemState.NEEDS_ADJUDICATION).first()
        or leased.item
    )
    export = export_create(
        project=project,
        created_by=engineer.user,
        data={"project": project.name, "kind": "annotations", "format": "jsonl"},
    )
    stamps = [i.timestamp for i, _ in rows if i.timestamp]
    rollups_rebuild(
        project=project,
        since=min(stamps, default=now) - timedelta(hours=1),
        until=now + timedelta(hours=1),
    )
    fill = QueueFill.objects.filter(queue=queue).order_by("-pk").first()
    assert fill is not None
    seed_actions(project, lead)
    return Seeded(
        project=project,
        queue=queue,
        pairs=pairs,
        annotation=mine,
        disputed=disputed,
        export=export,
        fill=fill,
    )


def seed_actions(project: Project, lead: Persona) -> None:
    """An alert rule that fired once, and a webhook with one delivery."""
    rule = alert_rule_create(
        project=project,
        user=lead.user,
        body={
            "name": "Thumbs-down spike",
            "metric": "negative_feedback_rate",
            "condition": {"type": "threshold", "value": 0.3},
        },
    )
    now = timezone.now()
    Alert.objects.create(
        rule=rule,
        fired_at=now,
        value=0.42,
        baseline=0.12,
        count=57,
        window_start=now - timedelta(hours=1),
        window_end=now,
    )
    # A local receiver, as tests and local set-ups allow; nothing is sent to it here.
    with override_settings(WEBHOOK_ALLOW_PRIVATE=True):
        webhook, _secret = webhook_create(
            project=project,
            created_by=lead.user,
            data={"name": "Fine-tuning CI", "url": "http://127.0.0.1:9/hooks/finetune"},
        )
    WebhookDelivery.objects.create(webhook=webhook, event="alert.fired", payload={"n": 1})
