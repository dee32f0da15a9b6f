from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from annotation.models import Feedback, Interaction, Membership, Project, Role


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"project-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def save_password(obj: Any, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.ANNOTATOR


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    project = factory.SubFactory(ProjectFactory)
    request_id = factory.Sequence(lambda n: f"req-{n}")
    timestamp = factory.LazyFunction(timezone.now)
    received_at = factory.LazyFunction(timezone.now)
    model = "gpt-x"
    model_version = "2026-10-01"
    prompt_template = "support_answer"
    messages = factory.LazyFunction(lambda: [{"role": "user", "content": "How do I reset it?"}])
    response = "Open Settings, then Security."


class FeedbackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Feedback

    interaction = factory.SubFactory(InteractionFactory)
    project = factory.SelfAttribute("interaction.project")
    request_id = factory.SelfAttribute("interaction.request_id")
    kind = "rating"
    value = 0.0
    scale = "thumbs"
    normalized_score = 0.0
    timestamp = factory.LazyFunction(timezone.now)
    received_at = factory.LazyFunction(timezone.now)


# -- Review queues ---------------------------------------------------------------------------------


class CheckFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "annotation.Check"

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"check-{n}")
    type = "pii"
    severity = 20


class FlagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "annotation.Flag"

    check_config = factory.SubFactory(CheckFactory)
    interaction = factory.SubFactory(
        InteractionFactory, project=factory.SelfAttribute("..check_config.project")
    )
    project = factory.SelfAttribute("check_config.project")
    flagged = True
    severity = factory.SelfAttribute("check_config.severity")
    score = 1.0
    created_at = factory.LazyFunction(timezone.now)


class GuidelineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "annotation.Guideline"

    project = factory.SubFactory(ProjectFactory)
    version = factory.Sequence(lambda n: n + 1)
    text = "# Guideline\n\nMark wrong answers **bad**."


REVIEW_SCHEMA: dict[str, Any] = {
    "fields": [
        {
            "name": "verdict",
            "type": "choice",
            "options": ["good", "bad"],
            "required": True,
            "agreement": True,
        },
        {"name": "reasons", "type": "multi_choice", "options": "taxonomy"},
        {"name": "rating", "type": "likert", "min": 1, "max": 5},
        {"name": "correction", "type": "correction"},
        {"name": "comment", "type": "text"},
    ]
}


class QueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "annotation.Queue"

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"queue-{n}")
    sources = factory.LazyFunction(lambda: [{"type": "low_rated", "threshold": 0.4}])
    schema = factory.LazyFunction(lambda: REVIEW_SCHEMA)
    seed = 7


class QueueItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "annotation.QueueItem"

    queue = factory.SubFactory(QueueFactory)
    interaction = factory.SubFactory(
        InteractionFactory, project=factory.SelfAttribute("..queue.project")
    )
    reasons = factory.LazyFunction(lambda: ["low_rated"])
    inclusion_probability = 1.0
    annotations_wanted = factory.SelfAttribute("queue.overlap")
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyFunction(timezone.now)
