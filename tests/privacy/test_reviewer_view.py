"""What a reviewer sees of a redacted interaction: placeholders and the kinds taken out."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from annotation.models import Interaction, PrivacyMode, Project
from tests.conftest import Persona
from tests.factories import GuidelineFactory, QueueItemFactory
from tests.privacy.conftest import EMAIL, interaction, post
from tests.review.conftest import make_queue

pytestmark = pytest.mark.django_db


def _workspace(project: Project, annotator: Persona) -> str:
    GuidelineFactory(project=project, version=1)
    queue = make_queue(project, [annotator], name="Weekly review", overlap=1)
    QueueItemFactory(queue=queue, interaction=Interaction.objects.get())
    browser = Client()
    browser.force_login(annotator.user)
    response = browser.post(f"/queues/{queue.pk}/work", follow=True)
    assert response.status_code == 200
    return response.content.decode()


def test_the_workspace_shows_placeholders_and_the_redacted_kinds(
    project: Project, ingest_client: APIClient, annotator: Persona
) -> None:
    project.privacy_mode = PrivacyMode.REDACT
    project.save(update_fields=["privacy_mode"])
    post(ingest_client, "/api/v1/interactions", interaction("req-1", response=f"Mail {EMAIL}"))

    html = _workspace(project, annotator)

    assert "Mail [EMAIL]" in html
    assert EMAIL not in html
    assert "Redacted at ingestion" in html
    assert "Email \u00d71" in html  # a multiplication sign


def test_the_workspace_says_when_the_prompt_was_not_stored(
    project: Project, ingest_client: APIClient, annotator: Persona
) -> None:
    project.privacy_mode = PrivacyMode.DROP_PROMPT
    project.save(update_fields=["privacy_mode"])
    post(ingest_client, "/api/v1/interactions", interaction("req-1"))

    html = _workspace(project, annotator)

    assert "The prompt was not stored" in html
    assert "How do I reset my password?" not in html
    assert "Open Settings, then Security." in html
