from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import AbstractBaseUser
from rest_framework.test import APIClient

from annotation.models import Project, Role
from annotation.services.projects import api_token_create, member_upsert, project_create
from feedbackloop.celery import app as celery_app


def pytest_configure(config: pytest.Config) -> None:
    """The test client, live servers and the gunicorn the tests start all speak plain HTTP.

    With DEBUG off, production settings redirect HTTP to HTTPS; tests turn that off (and pass it
    on to the servers they start through the environment). tests/security/test_hardening.py
    checks the production values.
    """
    import os

    from django.conf import settings

    os.environ["SECURE_SSL_REDIRECT"] = "false"
    settings.SECURE_SSL_REDIRECT = False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On SQLite (the embedded default), leave out tests marked `postgresql`."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    postgresql_only = [item for item in items if item.get_closest_marker("postgresql")]
    if postgresql_only:
        config.hook.pytest_deselected(items=postgresql_only)
        items[:] = [item for item in items if not item.get_closest_marker("postgresql")]


@pytest.fixture(autouse=True)
def _celery_eager_unless_integration(request: pytest.FixtureRequest) -> Iterator[None]:
    """Unit tests run tasks inline; tests marked `integration` use a real worker over Redis."""
    eager = request.node.get_closest_marker("integration") is None
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager
    yield
    celery_app.conf.task_always_eager = previous


@dataclass
class KeyedProject:
    project: Project
    key: str


@dataclass
class Persona:
    user: AbstractBaseUser
    token: str

    def client(self) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {self.token}")
        return client


@pytest.fixture
def keyed_project(db: Any) -> KeyedProject:
    created = project_create(name="support-bot")
    return KeyedProject(project=created.obj.project, key=created.secret)


@pytest.fixture
def project(keyed_project: KeyedProject) -> Project:
    return keyed_project.project


@pytest.fixture
def other_keyed_project(db: Any) -> KeyedProject:
    created = project_create(name="other-bot")
    return KeyedProject(project=created.obj.project, key=created.secret)


@pytest.fixture
def ingest_client(keyed_project: KeyedProject) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {keyed_project.key}")
    return client


def _persona(project: Project, username: str, role: Role) -> Persona:
    created = member_upsert(username=username, project=project, role=role, password="pw-0123456789")
    return Persona(user=created.obj.user, token=created.secret)


@pytest.fixture
def annotator(project: Project) -> Persona:
    return _persona(project, "annotator", Role.ANNOTATOR)


@pytest.fixture
def other_annotator(project: Project) -> Persona:
    return _persona(project, "other_annotator", Role.ANNOTATOR)


@pytest.fixture
def lead(project: Project) -> Persona:
    return _persona(project, "lead", Role.LEAD)


@pytest.fixture
def engineer(project: Project) -> Persona:
    return _persona(project, "engineer", Role.ENGINEER)


@pytest.fixture
def outsider(other_keyed_project: KeyedProject) -> Persona:
    """A lead, but of another project."""
    return _persona(other_keyed_project.project, "outsider", Role.LEAD)


@pytest.fixture
def tokenless_user(db: Any) -> Persona:
    from tests.factories import UserFactory

    user = UserFactory()
    return Persona(user=user, token=api_token_create(user=user).secret)
