"""Values to suggest in filter inputs: the model versions, prompt templates, experiments and
metadata keys a project's interactions actually carry.

Bounded three ways: only the most recent `SAMPLE_ROWS` interactions are read (one indexed
query on project and timestamp; metadata from the most recent `METADATA_ROWS`), each list keeps
at most `MAX_VALUES` distinct values (the most frequent first), and the answer is cached for
`CACHE_SECONDS` per project.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.cache import cache

from annotation.models import Interaction, Project

SAMPLE_ROWS = 5_000
METADATA_ROWS = 1_000
MAX_VALUES = 50
MAX_VALUE_CHARS = 200
CACHE_SECONDS = 120
FIELDS = (
    "model",
    "model_version",
    "prompt_template",
    "prompt_template_version",
    "experiment",
    "variant",
)


def _top(counter: Counter[str]) -> list[str]:
    return [value for value, _ in counter.most_common(MAX_VALUES)]


def _read(project_id: int) -> dict[str, list[str]]:
    counters: dict[str, Counter[str]] = {name: Counter() for name in (*FIELDS, "metadata_keys")}
    rows = (
        Interaction.objects.filter(project_id=project_id)
        .order_by("-timestamp")
        .values_list(*FIELDS, "metadata")[:SAMPLE_ROWS]
    )
    for index, row in enumerate(rows):
        for name, value in zip(FIELDS, row[:-1], strict=True):
            if value and len(value) <= MAX_VALUE_CHARS:
                counters[name][value] += 1
        metadata: Any = row[-1]
        if index < METADATA_ROWS and isinstance(metadata, dict):
            counters["metadata_keys"].update(
                key for key in metadata if isinstance(key, str) and len(key) <= MAX_VALUE_CHARS
            )
    return {name: _top(counter) for name, counter in counters.items()}


def filter_suggestions(project: Project) -> dict[str, list[str]]:
    """Per filter (`model`, `model_version`, …, `metadata_keys`) up to `MAX_VALUES` values seen
    in the project's recent interactions, most frequent first."""
    key = f"filter-suggestions:{project.pk}"
    found: dict[str, list[str]] | None = cache.get(key)
    if found is None:
        found = _read(project.pk)
        cache.set(key, found, CACHE_SECONDS)
    return found


MAX_PROJECTS = 10


def filter_suggestions_for(projects: list[Project]) -> dict[str, list[str]]:
    """The suggestions of several projects merged (the first `MAX_PROJECTS`), each list still
    at most `MAX_VALUES` long, in project order then frequency."""
    merged: dict[str, list[str]] = {}
    for project in projects[:MAX_PROJECTS]:
        for key, values in filter_suggestions(project).items():
            seen = merged.setdefault(key, [])
            seen.extend(v for v in values if v not in seen and len(seen) < MAX_VALUES)
    return merged
