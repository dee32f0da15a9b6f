"""Reviewed examples for the trigger tests: done items with the time they were finished."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from annotation.models import Project, QueueItem
from tests.exports.conftest import Reviews

FINISHED = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


class Examples:
    def __init__(self, project: Project) -> None:
        self.reviews = Reviews(project, name="weekly")
        self.finished = 0

    @property
    def queue_id(self) -> int:
        return self.reviews.queue.pk

    def add(self, n: int) -> list[QueueItem]:
        """``n`` more done items, each finished a minute after the previous one."""
        items = []
        for _ in range(n):
            item = self.reviews.item(f"Question {self.reviews.count + 1}?")
            self.finished += 1
            item.finished_at = FINISHED + timedelta(minutes=self.finished)
            item.save(update_fields=["finished_at"])
            items.append(item)
        return items

    @property
    def newest(self) -> datetime:
        return FINISHED + timedelta(minutes=self.finished)
