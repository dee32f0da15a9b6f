"""Comment themes: recovering known topics, the stored report from users' and reviewers' comments,
its API and page, and scikit-learn staying out of web workers."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from annotation.insights.themes import Comment, cluster_comments
from annotation.models import Annotation, InsightReport, Project
from annotation.models.review import ItemState
from tests.conftest import Persona
from tests.factories import FeedbackFactory, InteractionFactory, QueueFactory, QueueItemFactory

TOPICS = {
    "billing": [
        "invoice",
        "charged",
        "refund",
        "payment",
        "billing",
        "card",
        "price",
        "subscription",
    ],
    "login": ["password", "login", "reset", "account", "locked", "sign", "email", "code"],
    "speed": ["slow", "latency", "waiting", "seconds", "timeout", "loading", "fast", "lag"],
}
FILLER = ["the", "answer", "was", "really", "not", "helpful", "about", "my", "it", "again"]


def _comments(seed: int, per_topic: int = 60) -> tuple[list[Comment], list[int]]:
    rng = np.random.default_rng(seed)
    comments, truth = [], []
    for index, words in enumerate(TOPICS.values()):
        for i in range(per_topic):
            text = " ".join([*rng.choice(words, size=4, replace=True), *rng.choice(FILLER, size=4)])
            comments.append(Comment(text=text, day=f"2026-11-{20 + i % 3}", source="user"))
            truth.append(index)
    order = rng.permutation(len(comments))
    return [comments[i] for i in order], [truth[i] for i in order]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_it_recovers_three_known_topics(seed: int) -> None:
    comments, truth = _comments(seed)
    result = cluster_comments(comments, seed=seed)

    assert result.k == 3
    assert adjusted_rand_score(truth, result.labels) >= 0.8
    assert sum(theme.count for theme in result.themes) == len(comments)
    labels = " ".join(theme.label for theme in result.themes)
    assert all(any(word in labels for word in words) for words in TOPICS.values())
    for theme in result.themes:
        assert 1 <= len(theme.examples) <= 3
        assert sum(theme.trend.values()) == theme.count


def test_it_finds_no_themes_in_too_few_comments() -> None:
    comments, _ = _comments(0, per_topic=3)
    assert cluster_comments(comments).themes == []


START = datetime(2026, 11, 20, tzinfo=UTC)
WINDOW = {"since": "2026-11-20T00:00:00Z", "until": "2026-11-23T00:00:00Z"}


@pytest.fixture
def comments(project: Project) -> Project:
    """Users' comments on billing and login, reviewers' notes on speed."""
    texts, _ = _comments(5, per_topic=30)
    users = [c for c in texts if not any(w in c.text for w in TOPICS["speed"])]
    for i, comment in enumerate(users):
        interaction = InteractionFactory(
            project=project, request_id=f"c-{i}", timestamp=START + timedelta(hours=i % 48)
        )
        FeedbackFactory(
            interaction=interaction,
            kind="comment",
            text=comment.text,
            normalized_score=None,
            value=None,
            scale="",
            timestamp=START + timedelta(hours=i % 48),
        )
    queue = QueueFactory(project=project)
    from django.contrib.auth.models import User

    reviewer = User.objects.create(username="reviewer")
    rng = np.random.default_rng(9)
    for i in range(30):
        item = QueueItemFactory(queue=queue, state=ItemState.DONE)
        Annotation.objects.create(
            item=item,
            annotator=reviewer,
            values={"verdict": "bad", "comment": " ".join(rng.choice(TOPICS["speed"], 5))},
            created_at=START + timedelta(hours=i),
            updated_at=START + timedelta(hours=i),
        )
    return project


def _post(persona: Persona, **params: str) -> Any:
    query = urlencode({"project": "support-bot", **params})
    return persona.client().post(f"/api/v1/insights/themes?{query}")


def test_it_stores_themes_of_users_and_reviewers_comments(
    comments: Project, engineer: Persona, django_capture_on_commit_callbacks: Any
) -> None:
    empty = engineer.client().get("/api/v1/insights/themes", {"project": "support-bot"}).json()
    assert empty["report"]["state"] == "missing" and "Not computed yet" in empty["empty"]

    with django_capture_on_commit_callbacks(execute=True):
        assert _post(engineer, **WINDOW).status_code == 202
    body = engineer.client().get("/api/v1/insights/themes", {"project": "support-bot"}).json()

    assert body["report"]["state"] == "done" and body["empty"] is None
    assert body["comments"] == 90 and body["k"] == 3
    by_source = {tuple(sorted(theme["sources"])) for theme in body["themes"]}
    assert ("reviewer",) in by_source and ("user",) in by_source
    speed = next(t for t in body["themes"] if t["sources"] == {"reviewer": 30})
    assert any(word in speed["label"] for word in TOPICS["speed"])
    assert [point["count"] for point in speed["trend"]] == [24, 6]
    assert speed["interactions"].startswith("/insights/support-bot/interactions?since=")
    user_theme = next(t for t in body["themes"] if "user" in t["sources"])
    assert user_theme["examples"][0]["interaction"].startswith(
        "/insights/support-bot/interactions/"
    )


def test_it_explains_too_few_comments(
    project: Project, lead: Persona, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _post(lead, **WINDOW)
    body = lead.client().get("/api/v1/insights/themes", {"project": "support-bot"}).json()

    assert body["themes"] == [] and body["empty"].startswith("Too little support: 0 comments")


def test_it_names_a_bad_window(project: Project, lead: Persona) -> None:
    response = _post(lead, since="2026-11-22T00:00:00Z", until="2026-11-21T00:00:00Z")

    assert response.status_code == 400 and response.json()["error"]["details"]["field"] == "since"
    assert not InsightReport.objects.exists()


def test_the_page_shows_themes_and_is_for_leads_and_engineers(
    comments: Project,
    client: Any,
    lead: Persona,
    annotator: Persona,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client.force_login(annotator.user)
    assert client.get("/insights/support-bot/themes").status_code == 403
    assert client.post("/insights/support-bot/reports/themes", WINDOW).status_code == 403
    client.force_login(lead.user)
    assert "Not computed yet" in client.get("/insights/support-bot/themes").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/insights/support-bot/reports/themes", WINDOW).status_code == 302

    page = client.get("/insights/support-bot/themes")
    partial = client.get("/insights/support-bot/themes", headers={"HX-Request": "true"})

    assert page.status_code == 200 and "<html" in page.content.decode()
    assert "90 comments in 3 themes (TF-IDF)" in page.content.decode()
    assert "<html" not in partial.content.decode() and "HX-Request" in partial["Vary"]
    assert client.post("/insights/support-bot/themes").status_code == 405


def test_web_workers_do_not_load_scikit_learn() -> None:
    code = (
        "import django, sys; django.setup(); import annotation.urls, annotation.api.urls, "
        "annotation.tasks; print('sklearn' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "feedbackloop.settings"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_it_clusters_embeddings_from_the_configured_endpoint(
    comments: Project, lead: Persona, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    from tests.fakes.openai_server import EMBEDDINGS_PATH, FakeOpenAI

    with FakeOpenAI() as server:
        settings.EMBEDDINGS_BASE_URL = server.base_url
        settings.EMBEDDINGS_MODEL = "fake-embedder"
        with django_capture_on_commit_callbacks(execute=True):
            _post(lead, **WINDOW)
        calls = [r.body for r in server.requests if r.path == EMBEDDINGS_PATH]
    body = lead.client().get("/api/v1/insights/themes", {"project": "support-bot"}).json()

    assert body["method"] == "embeddings_kmeans" and body["embeddings_error"] is None
    assert calls and calls[0]["model"] == "fake-embedder"
    assert sum(len(call["input"]) for call in calls) == 90
    assert body["k"] == 3
    reviewer = next(t for t in body["themes"] if "reviewer" in t["sources"])
    assert reviewer["sources"] == {"reviewer": 30}


def test_a_failing_embeddings_endpoint_falls_back_to_tfidf_and_says_so(
    comments: Project, lead: Persona, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    from tests.fakes.openai_server import EMBEDDINGS_PATH, FakeOpenAI

    with FakeOpenAI() as server:
        for _ in range(3):  # the first try and two retries
            server.enqueue_status(400, path=EMBEDDINGS_PATH)
        settings.EMBEDDINGS_BASE_URL = server.base_url
        with django_capture_on_commit_callbacks(execute=True):
            _post(lead, **WINDOW)
    body = lead.client().get("/api/v1/insights/themes", {"project": "support-bot"}).json()

    assert body["method"] == "tfidf_kmeans" and body["k"] == 3
    assert body["embeddings_error"].startswith("The embeddings endpoint failed (BadRequestError)")
