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
