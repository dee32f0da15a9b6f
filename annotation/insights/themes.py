"""Comment themes: free-text comments grouped by what they say, with counts, trend and examples.

TF-IDF vectors (scikit-learn) clustered by k-means; k is chosen by the silhouette score (cosine)
over k in 2..8 on a sample, and each theme is labelled by its centroid's top terms. scikit-learn
is imported inside the function: only the Celery worker that computes themes loads it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_COMMENTS = 20_000
MIN_COMMENTS = 10
K_RANGE = range(2, 9)
SILHOUETTE_SAMPLE = 2_000
EXAMPLES = 3
TOP_TERMS = 3
# Words of two or more letters (digits and ids say nothing about a theme).
WORDS = r"(?u)\b[^\W\d_][\w'-]+\b"


@dataclass(frozen=True)
class Comment:
    text: str
    day: str  # YYYY-MM-DD
    source: str  # "user" or "reviewer"
    interaction_id: int | None = None


@dataclass
class Theme:
    label: str
    terms: list[str]
    count: int
    trend: dict[str, int]
    examples: list[Comment] = field(default_factory=list)
    sources: dict[str, int] = field(default_factory=dict)


@dataclass
class ThemeResult:
    themes: list[Theme]
    labels: list[int]  # the theme index of each comment, in input order
    k: int
    silhouette: float | None


def cluster_comments(
    comments: Sequence[Comment], *, seed: int = 0, vectors: Any = None
) -> ThemeResult:
    """Themes of `comments` (at most MAX_COMMENTS; the caller keeps the latest).

    `vectors`, when given, are embeddings (one row per comment) used instead of TF-IDF; the
    labels then come from the TF-IDF terms of each theme's comments.
    """
    import numpy as np
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import normalize

    texts = [c.text for c in comments]
    if len(texts) < MIN_COMMENTS:
        return ThemeResult(themes=[], labels=[], k=0, silhouette=None)
    vectorizer = TfidfVectorizer(
        stop_words="english",
        max_features=5_000,
        min_df=2 if len(texts) >= 50 else 1,
        sublinear_tf=True,
        token_pattern=WORDS,
    )
    try:
        tfidf = vectorizer.fit_transform(texts)
    except ValueError:  # nothing but stop words
        return ThemeResult(themes=[], labels=[], k=0, silhouette=None)
    terms = vectorizer.get_feature_names_out()
    matrix = normalize(np.asarray(vectors, dtype=float)) if vectors is not None else tfidf
    n = matrix.shape[0]
    rng = np.random.default_rng(seed)
    sample = rng.choice(n, size=min(n, SILHOUETTE_SAMPLE), replace=False)
    sample_matrix = matrix[sample]

    def model(k: int) -> Any:
        if n > 5_000:
            return MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=1024)
        return KMeans(n_clusters=k, random_state=seed, n_init=4)

    best_k, best_score = 0, -1.0
    for k in K_RANGE:
        if k >= len(sample):
            break
        labels = model(k).fit_predict(sample_matrix)
        if len(set(labels)) < 2:
            continue
        score = float(silhouette_score(sample_matrix, labels, metric="cosine", random_state=seed))
        if score > best_score:
            best_k, best_score = k, score
    if best_k == 0:
        return ThemeResult(themes=[], labels=[], k=0, silhouette=None)
    fitted = model(best_k).fit(matrix)
    labels = [int(label) for label in fitted.labels_]
    themes = []
    for index in range(best_k):
        members = [i for i, label in enumerate(labels) if label == index]
        if not members:
            continue
        weights = np.asarray(tfidf[members].mean(axis=0)).ravel()
        top = [str(terms[i]) for i in weights.argsort()[::-1][:TOP_TERMS] if weights[i] > 0]
        centre = np.asarray(matrix[members].mean(axis=0)).ravel()
        closeness = np.asarray(matrix[members] @ centre).ravel()
        nearest = [members[i] for i in closeness.argsort()[::-1][:EXAMPLES]]
        themes.append(
            Theme(
                label=", ".join(top) or "(no common terms)",
                terms=top,
                count=len(members),
                trend=dict(sorted(Counter(comments[i].day for i in members).items())),
                examples=[comments[i] for i in nearest],
                sources=dict(Counter(comments[i].source for i in members)),
            )
        )
    themes.sort(key=lambda theme: -theme.count)
    return ThemeResult(themes=themes, labels=labels, k=best_k, silhouette=best_score)
