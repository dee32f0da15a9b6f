"""Comment themes of a project's window: the newest users' and reviewers' comments, clustered.

Called by the Celery task that computes stored insight reports (heavy queue); scikit-learn is
imported only there, through annotation/insights/themes.py.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.conf import settings
from django.urls import reverse

from annotation.insights.query import Range
from annotation.insights.themes import MAX_COMMENTS, MIN_COMMENTS, Comment, cluster_comments
from annotation.models import Project
from annotation.selectors.insight_reports import review_comments, user_comments

EMBEDDINGS_BATCH = 256


class EmbeddingsError(RuntimeError):
    pass


def embed(texts: list[str]) -> list[list[float]]:
    """Vectors of `texts` from the configured OpenAI-compatible embeddings endpoint."""
    import openai

    client = openai.OpenAI(
        base_url=settings.EMBEDDINGS_BASE_URL,
        api_key=settings.EMBEDDINGS_API_KEY or "unused",
        timeout=settings.EMBEDDINGS_TIMEOUT_SECONDS,
        max_retries=2,
    )
    vectors: list[list[float]] = []
    for start in range(0, len(texts), EMBEDDINGS_BATCH):
        batch = texts[start : start + EMBEDDINGS_BATCH]
        try:
            answer = client.embeddings.create(model=settings.EMBEDDINGS_MODEL, input=batch)
        except openai.OpenAIError as exc:
            raise EmbeddingsError(type(exc).__name__) from exc
        rows = sorted(answer.data, key=lambda row: row.index)
        if len(rows) != len(batch):
            raise EmbeddingsError(f"{len(rows)} vectors for {len(batch)} texts")
        vectors.extend(list(row.embedding) for row in rows)
    return vectors


def themes_body(project: Project, window: Range) -> dict[str, Any]:
    """Themes (label, count, per-day trend, up to 3 examples) of the window's newest comments."""
    comments = [
        Comment(
            text=text[:2_000],
            day=f"{moment.astimezone(UTC):%Y-%m-%d}",
            source="user",
            interaction_id=interaction_id,
        )
        for text, moment, interaction_id in user_comments(project, window, MAX_COMMENTS)
    ]
    comments += [
        Comment(
            text=text[:2_000],
            day=f"{moment.astimezone(UTC):%Y-%m-%d}",
            source="reviewer",
            interaction_id=interaction_id,
        )
        for text, moment, interaction_id in review_comments(
            project, window, MAX_COMMENTS - len(comments)
        )
    ]
    vectors, method, problem = None, "tfidf_kmeans", None
    if settings.EMBEDDINGS_BASE_URL and len(comments) >= MIN_COMMENTS:
        try:
            vectors = embed([c.text for c in comments])
            method = "embeddings_kmeans"
        except EmbeddingsError as exc:
            problem = f"The embeddings endpoint failed ({exc}); themes are from TF-IDF."
    result = cluster_comments(comments, vectors=vectors)
    explorer = reverse("insights-explorer", args=[project.name])
    return {
        "comments": len(comments),
        "min_comments": MIN_COMMENTS,
        "truncated": len(comments) >= MAX_COMMENTS,
        "k": result.k,
        "silhouette": result.silhouette,
        "method": method,
        "embeddings_error": problem,
        "themes": [
            {
                "label": theme.label,
                "terms": theme.terms,
                "count": theme.count,
                "sources": theme.sources,
                "trend": [{"day": day, "count": n} for day, n in theme.trend.items()],
                "examples": [
                    {
                        "text": example.text[:500],
                        "source": example.source,
                        "day": example.day,
                        "interaction": f"{explorer}/{example.interaction_id}"
                        if example.interaction_id
                        else None,
                    }
                    for example in theme.examples
                ],
            }
            for theme in result.themes
        ],
    }
