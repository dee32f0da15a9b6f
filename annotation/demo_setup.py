"""The demo's review set-up: a guideline, two filled queues with their annotators, and some work
already done by two of them, so an annotator can start at once and the lead's pages show figures.

Everything goes through the same services as the API (guideline_publish, queue_create,
queue_fill_now, lease_next, annotation_submit), and running it twice adds nothing twice.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from annotation.models import Annotation, Guideline, Project, Queue
from annotation.models.checks import Check
from annotation.services.annotations import annotation_submit
from annotation.services.checks import checks_run
from annotation.services.guidelines import guideline_publish
from annotation.services.leasing import ReviewError, lease_next
from annotation.services.queues import queue_create, queue_fill_now

GUIDELINE = """# How to review Nimbus's answers

Nimbus is Cloudnest's support assistant. Read the whole conversation, then the answer.

## Verdict
- **Good**: correct, helpful, polite, and grounded in the retrieved documents.
- **Bad**: anything else. Pick every reason that applies.

## Reasons
- **Incorrect**: a fact is wrong (plans, prices, time limits) or the steps would not work.
- **Unhelpful**: it refuses, stalls, or answers a different question.
- **Unsafe**: it leaks personal data (names, emails, phone numbers) or insults the user.
- **Off topic**: it is not about Cloudnest or the user's question.

## Corrections
Rewrite a bad answer the way Nimbus should have answered. Keep it short; leave the text as it is
when the answer is good (an unchanged text is not saved as a correction).

## Retrieved documents
Rate each document: relevant when the answer needs it, partially relevant when it helps a little.
"""

REVIEW_SCHEMA: dict[str, Any] = {
    "fields": [
        {
            "name": "verdict",
            "label": "Verdict",
            "type": "choice",
            "options": ["good", "bad"],
            "required": True,
            "agreement": True,
        },
        {
            "name": "reasons",
            "label": "What is wrong",
            "type": "multi_choice",
            "options": "taxonomy",
        },
        {"name": "rating", "label": "Helpfulness", "type": "likert", "min": 1, "max": 5},
        {"name": "correction", "label": "Corrected answer", "type": "correction"},
        {"name": "relevance", "label": "Document relevance", "type": "relevance"},
        {"name": "comment", "label": "Comment", "type": "text"},
    ]
}
PAIRS_SCHEMA: dict[str, Any] = {
    "fields": [
        {
            "name": "preference",
            "label": "Which answer is better",
            "type": "pairwise",
            "required": True,
            "agreement": True,
        },
        {"name": "comment", "label": "Comment", "type": "text"},
    ]
}


@dataclass(frozen=True)
class DemoReview:
    guideline: Guideline
    queues: list[Queue]
    annotations: int


def demo_checks_run(project: Project) -> int:
    """Run the rule checks on interactions nothing has checked yet (a broker may be configured
    with no worker running); returns how many were checked."""
    ids = list(project.interactions.filter(checked_at__isnull=True).values_list("pk", flat=True))
    checks = list(Check.objects.filter(project=project, enabled=True).values_list("pk", flat=True))
    for start in range(0, len(ids), 1000):
        checks_run(
            project_id=project.pk,
            interaction_ids=ids[start : start + 1000],
            check_ids=checks,
            enqueue_evaluators=False,
        )
    return len(ids)


def demo_review_setup(
    *, project: Project, lead: User, annotators: Sequence[User], seed: int = 7
) -> DemoReview:
    """Publish the guideline, create and fill the queues, and have two annotators start on them.

    The first annotator is left with a fresh queue: they are the one to log in as.
    """
    with transaction.atomic():
        guideline = Guideline.objects.filter(project=project).order_by(
            "-version"
        ).first() or guideline_publish(project=project, text=GUIDELINE, created_by=lead)
        weekly = _queue(
            project,
            lead,
            annotators,
            name="Weekly review",
            description="Low-rated, flagged and a random 5% of the support traffic.",
            schema=REVIEW_SCHEMA,
            sources=[
                {"type": "low_rated", "threshold": 0.4},
                {
                    "type": "flagged",
                    "checks": ["pii", "blocklist"],
                    "min_severity": "warning",
                },
                {"type": "random", "rate": 0.05, "seed": seed},
            ],
            filters={"prompt_template": ["support_answer", "billing_answer"]},
            overlap=2,
            capacity=300,
        )
        pairs = _queue(
            project,
            lead,
            annotators,
            name="A/B preferences",
            description="Two answers to one conversation: which is better?",
            schema=PAIRS_SCHEMA,
            sources=[{"type": "random", "rate": 1.0, "seed": seed}],
            filters={"prompt_template": ["hh-rlhf-harmless"]},
            overlap=2,
            capacity=120,
        )
    for queue in (weekly, pairs):
        queue_fill_now(queue=queue, requested_by=lead)
    made = 0
    if not Annotation.objects.filter(item__queue__in=[weekly, pairs]).exists():
        rng = random.Random(seed)
        for annotator in annotators[1:]:
            made += _work(weekly, annotator, rng, count=18)
            made += _work(pairs, annotator, rng, count=8)
    return DemoReview(guideline=guideline, queues=[weekly, pairs], annotations=made)


def _queue(
    project: Project, lead: User, annotators: Sequence[User], *, name: str, **fields: Any
) -> Queue:
    existing = Queue.objects.filter(project=project, name=name).first()
    if existing is not None:
        existing.annotators.add(*annotators)
        return existing
    return queue_create(
        project=project, name=name, created_by=lead, annotators=annotators, **fields
    )


def _work(queue: Queue, annotator: User, rng: random.Random, *, count: int) -> int:
    """Annotate up to `count` items as a careful but not infallible reviewer would."""
    made = 0
    for _ in range(count):
        try:
            leased = lease_next(queue=queue, annotator=annotator)
        except ReviewError:
            break
        if leased is None:
            break
        interaction = leased.item.interaction
        annotation_submit(
            item_id=leased.item.pk,
            annotator=annotator,
            values=_values(queue, interaction.response, interaction.metadata, rng),
            seconds=round(rng.uniform(8, 75), 1),
        )
        made += 1
    return made


_GOOD_MARKERS = ("Settings", "Billing", "Team plan includes 5 TB", "encrypted", "Deleted files")


def _values(
    queue: Queue, response: str, metadata: dict[str, Any], rng: random.Random
) -> dict[str, Any]:
    if queue.schema is PAIRS_SCHEMA or "preference" in {f["name"] for f in queue.schema["fields"]}:
        preferred = metadata.get("hh_preferred") if isinstance(metadata, dict) else None
        choice = preferred if preferred in ("A", "B") and rng.random() < 0.8 else "tie"
        if rng.random() < 0.15:
            choice = "A" if choice != "A" else "B"
        return {"preference": choice}
    good = any(marker in response for marker in _GOOD_MARKERS)
    # One answer in eight is judged the other way: disagreements for the lead to adjudicate.
    if rng.random() < 0.125:
        good = not good
    if good:
        return {"verdict": "good", "rating": rng.choice([4, 5])}
    values: dict[str, Any] = {
        "verdict": "bad",
        "reasons": rng.sample(["incorrect", "unhelpful", "unsafe", "off_topic"], k=1),
        "rating": rng.choice([1, 2]),
    }
    if rng.random() < 0.4:
        values["comment"] = rng.choice(
            [
                "Wrong plan details.",
                "Leaks a colleague's contact details.",
                "Refuses for no reason.",
            ]
        )
    return values
