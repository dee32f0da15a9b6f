"""The annotator's counters (done today, left for them, their share), on the home page and in the
workspace, and what the workspace says and stores around a submit."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from annotation.models import Annotation, Project, Queue, Role
from annotation.selectors.annotator_progress import (
    annotator_progress,
    annotator_progress_by_queue,
    items_left_for,
    start_of_today,
)
from annotation.services.annotations import annotation_submit
from annotation.services.leasing import lease_next, lease_skip
from tests.conftest import Persona, _persona
from tests.review.conftest import make_queue
from tests.workspace.conftest import add_items, browser

HTMX = {"HTTP_HX_REQUEST": "true"}


def work(queue: Queue, persona: Persona, count: int, values: dict[str, Any] | None = None) -> None:
    for _ in range(count):
        leased = lease_next(queue=queue, annotator=persona.user)
        assert leased is not None
        annotation_submit(
            item_id=leased.item.pk, annotator=persona.user, values=values or {"verdict": "good"}
        )


def figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">([^<]*)<', html)
    assert found, f"no {name} figure in the page"
    return found.group(1).strip()


def test_home_counts_an_annotators_work_on_an_overlap_queue(
    project: Project, annotator: Persona, guideline: Any
) -> None:
    # The report: "0 / 60" on the home page after 13 annotations (no item is done until its
    # overlap is reached, so items done alone said nothing about the annotator's work).
    queue = make_queue(project, [annotator], name="Triple", overlap=3)
    add_items(queue, 60)
    work(queue, annotator, 13)

    html = browser(annotator).get("/").content.decode()

    assert figure(html, "today") == "13"
    assert figure(html, "done") == "13"
    assert figure(html, "left") == "47"
    assert figure(html, "items") == "0 of 60"


def test_done_today_leaves_out_yesterday(
    project: Project, annotator: Persona, work_queue: Queue
) -> None:
    add_items(work_queue, 5)
    work(work_queue, annotator, 3)
    yesterday = start_of_today() - timedelta(minutes=1)
    Annotation.objects.filter(pk=Annotation.objects.order_by("pk").first().pk).update(  # type: ignore[union-attr]
        created_at=yesterday
    )

    progress = annotator_progress(work_queue, annotator.user)

    assert (progress.done_today, progress.done) == (2, 3)


def test_left_counts_what_the_annotator_can_still_take(
    project: Project, annotator: Persona, other_annotator: Persona, guideline: Any
) -> None:
    queue = make_queue(project, [annotator, other_annotator], name="Pairs", overlap=2)
    add_items(queue, 6)
    assert items_left_for(queue.pk, annotator.user) == 6

    work(queue, annotator, 2)  # two items done by them: still open for the other
    leased = lease_next(queue=queue, annotator=annotator.user)
    assert leased is not None
    assert items_left_for(queue.pk, annotator.user) == 4  # the held one still counts
    lease_skip(item_id=leased.item.pk, annotator=annotator.user)

    assert items_left_for(queue.pk, annotator.user) == 3
    # With two annotators and overlap 2, nobody can complete the skipped item: it is settled.
    assert items_left_for(queue.pk, other_annotator.user) == 5
    assert items_left_for(queue.pk, other_annotator.user, cap=4) == 4


def test_share_is_the_annotators_part_of_all_annotations(
    project: Project, annotator: Persona, other_annotator: Persona, guideline: Any
) -> None:
    queue = make_queue(project, [annotator, other_annotator], name="Pairs", overlap=2)
    add_items(queue, 4)
    work(queue, annotator, 1)
    work(queue, other_annotator, 3)
    cache.clear()

    progress = annotator_progress(queue, annotator.user)

    assert (progress.done, progress.queue_annotations) == (1, 4)
    assert progress.share_percent == 25
    assert not progress.finished


def test_the_workspace_counter_moves_with_each_submit(
    annotator: Persona, work_queue: Queue
) -> None:
    first, _second, _third = add_items(work_queue, 3)
    cache.clear()
    client = browser(annotator)
    before = client.post(f"/queues/{work_queue.pk}/work", **HTMX).content.decode()
    assert (figure(before, "today"), figure(before, "left")) == ("0", "3")

    after = client.post(
        f"/queues/{work_queue.pk}/items/{first.pk}/submit", {"verdict": "good"}, **HTMX
    ).content.decode()

    assert (figure(after, "today"), figure(after, "left")) == ("1", "2")
    assert figure(after, "share").startswith("100%")
    saved = Annotation.objects.get(item=first)
    assert "Saved." in after and f"/annotations/{saved.pk}/edit" in after  # revise it
    assert "data-previous" in after


def test_a_finished_queue_says_so_on_both_pages(annotator: Persona, work_queue: Queue) -> None:
    add_items(work_queue, 1)
    work(work_queue, annotator, 1)
    client = browser(annotator)

    page = client.post(f"/queues/{work_queue.pk}/work", **HTMX).content.decode()
    home = client.get("/").content.decode()

    assert "You have finished this queue" in page
    assert "Finished for you" in home and "Start working" not in home


def test_an_untouched_correction_is_not_stored(annotator: Persona, work_queue: Queue) -> None:
    first, second = add_items(work_queue, 2, response="Open Settings, then Security.")
    client = browser(annotator)
    client.post(f"/queues/{work_queue.pk}/work", **HTMX)

    client.post(
        f"/queues/{work_queue.pk}/items/{first.pk}/submit",
        {"verdict": "good", "correction": "Open  Settings,\nthen Security. "},
        **HTMX,
    )
    client.post(
        f"/queues/{work_queue.pk}/items/{second.pk}/submit",
        {"verdict": "bad", "correction": "Open Settings, then Privacy."},
        **HTMX,
    )

    assert "correction" not in Annotation.objects.get(item=first).values
    assert Annotation.objects.get(item=second).values["correction"] == (
        "Open Settings, then Privacy."
    )


def test_pages_show_labels_not_raw_values(project: Project, annotator: Persona) -> None:
    project.taxonomy = [*project.taxonomy, {"name": "too_long", "label": "Rambles on"}]
    project.save()
    schema = {
        "fields": [
            {
                "name": "verdict",
                "label": "Is it right?",
                "type": "choice",
                "options": ["ok", "not_ok"],
            },
            {"name": "reasons", "type": "multi_choice", "options": "taxonomy"},
        ]
    }
    queue = make_queue(project, [annotator], name="Labels", schema=schema, overlap=1)
    add_items(queue, 2)
    work(queue, annotator, 1, {"verdict": "not_ok", "reasons": ["off_topic", "too_long"]})
    client = browser(annotator)

    workspace = client.post(f"/queues/{queue.pk}/work", **HTMX).content.decode()
    mine = client.get(f"/queues/{queue.pk}/mine").content.decode()

    assert "Is it right?" in workspace and ">not_ok<" not in workspace
    assert "Not ok" in workspace and "Off topic" in workspace and "Rambles on" in workspace
    assert "p = " not in workspace and "every such interaction is picked" in workspace
    assert "Off topic, Rambles on" in mine and "Not ok" in mine
    assert "['" not in mine and "off_topic" not in mine


def test_a_lead_of_the_project_sees_their_own_counter_only(
    project: Project, annotator: Persona, work_queue: Queue
) -> None:
    second = _persona(project, "second", Role.ANNOTATOR)
    work_queue.annotators.add(second.user)
    add_items(work_queue, 4)
    work(work_queue, annotator, 2)

    progress = annotator_progress(work_queue, second.user, now=timezone.now())

    assert (progress.done_today, progress.done, progress.left) == (0, 0, 2)


def test_the_home_pages_figures_for_all_queues_match_each_queues_counter(
    project: Project, annotator: Persona, other_annotator: Persona, guideline: Any
) -> None:
    first = make_queue(project, [annotator, other_annotator], name="Pairs", overlap=2)
    second = make_queue(project, [annotator], name="Solo", overlap=1)
    add_items(first, 5)
    add_items(second, 3)
    work(first, annotator, 2)
    work(first, other_annotator, 3)
    work(second, annotator, 1)
    leased = lease_next(queue=second, annotator=annotator.user)
    assert leased is not None
    cache.clear()

    together = annotator_progress_by_queue([first, second], annotator.user)

    for queue in (first, second):
        assert together[queue.pk] == annotator_progress(queue, annotator.user)
