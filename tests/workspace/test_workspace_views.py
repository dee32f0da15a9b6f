from __future__ import annotations

from typing import Any

from annotation.models import Annotation, Lease, Queue, QueueItem
from annotation.models.review import ItemState
from tests.conftest import Persona
from tests.workspace.conftest import add_items, browser

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(queue: Queue) -> str:
    return f"/queues/{queue.pk}/work"


def submit_url(item: QueueItem) -> str:
    return f"/queues/{item.queue_id}/items/{item.pk}/submit"


def test_the_workspace_leases_and_shows_the_next_item(
    annotator: Persona, work_queue: Queue
) -> None:
    items = add_items(work_queue, 2, response="Open Settings, then Security.")

    response = browser(annotator).post(url(work_queue), follow=True)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and 'id="workspace"' in html
    assert f'aria-label="Item {items[0].pk}"' in html
    assert "Open Settings, then Security." in html
    assert "<strong>wrong</strong>" in html  # the guideline, rendered
    assert 'name="verdict" value="bad"' in html
    assert items[0].leases.get().annotator == annotator.user


def test_an_htmx_request_gets_only_the_item_partial(annotator: Persona, work_queue: Queue) -> None:
    add_items(work_queue, 1)

    response = browser(annotator).post(url(work_queue), **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and html.lstrip().startswith('<section id="workspace"')


def test_submitting_stores_the_annotation_and_shows_the_next_item(
    annotator: Persona, work_queue: Queue
) -> None:
    first, second = add_items(work_queue, 2)
    client = browser(annotator)
    client.post(url(work_queue), follow=True)

    response = client.post(
        submit_url(first),
        {
            "verdict": "bad",
            "reasons": ["incorrect", "unhelpful"],
            "rating": "2",
            "correction": "Better answer",
            "comment": "",
            "seconds": "12.5",
        },
        **HTMX,
    )

    html = response.content.decode()
    assert "Saved." in html
    assert f'aria-label="Item {second.pk}"' in html
    annotation = Annotation.objects.get(item=first)
    assert annotation.values == {
        "verdict": "bad",
        "reasons": ["incorrect", "unhelpful"],
        "rating": 2,
        "correction": "Better answer",
    }
    assert annotation.seconds == 12.5
    assert annotation.guideline.version == 3
    first.refresh_from_db()
    assert first.state == ItemState.DONE


def test_a_plain_form_post_redirects_to_the_next_item(
    annotator: Persona, work_queue: Queue
) -> None:
    (item,) = add_items(work_queue, 1)
    client = browser(annotator)
    client.post(url(work_queue), follow=True)

    response = client.post(submit_url(item), {"verdict": "good"})

    assert response.status_code == 302
    assert response["Location"] == url(work_queue)
    assert "Nothing left to do here" in client.post(url(work_queue), follow=True).content.decode()


def test_a_tampered_form_gets_a_clear_message_and_nothing_is_lost(
    annotator: Persona, work_queue: Queue
) -> None:
    (item,) = add_items(work_queue, 1)
    client = browser(annotator)
    client.post(url(work_queue), follow=True)

    response = client.post(
        submit_url(item), {"verdict": "maybe", "comment": "keep me", "rating": "9"}, **HTMX
    )

    html = response.content.decode()
    assert "Fix the fields marked below" in html
    assert "&#x27;maybe&#x27; is not allowed" in html
    assert "keep me" in html  # the typed values come back
    assert not Annotation.objects.exists()


def test_oversized_text_is_refused_with_a_message(annotator: Persona, work_queue: Queue) -> None:
    (item,) = add_items(work_queue, 1)
    client = browser(annotator)
    client.post(url(work_queue), follow=True)

    response = client.post(
        submit_url(item), {"verdict": "good", "comment": "x" * 1_000_001}, **HTMX
    )

    assert "shorten it" in response.content.decode()
    assert not Annotation.objects.exists()


def test_a_double_submission_stores_one_annotation(annotator: Persona, work_queue: Queue) -> None:
    first, _second = add_items(work_queue, 2)
    client = browser(annotator)
    client.post(url(work_queue), follow=True)

    client.post(submit_url(first), {"verdict": "good"}, **HTMX)
    replay = client.post(submit_url(first), {"verdict": "bad"}, **HTMX)

    assert Annotation.objects.filter(item=first).count() == 1
    assert Annotation.objects.get(item=first).values == {"verdict": "good"}
    assert 'role="alert"' in replay.content.decode()


def test_skipping_moves_on(annotator: Persona, work_queue: Queue) -> None:
    first, second = add_items(work_queue, 2)
    client = browser(annotator)
    client.post(url(work_queue), follow=True)

    response = client.post(f"/queues/{work_queue.pk}/items/{first.pk}/skip", **HTMX)

    assert "Skipped." in response.content.decode()
    assert f'aria-label="Item {second.pk}"' in response.content.decode()
    assert not Annotation.objects.exists()


def test_untrusted_text_is_inert(annotator: Persona, work_queue: Queue) -> None:
    payload = '<script>alert(1)</script><img src=x onerror=alert(2)> <a hx-get="/admin/">x</a>'
    add_items(work_queue, 1, response=payload, messages=[{"role": "user", "content": payload}])

    html = browser(annotator).post(url(work_queue), follow=True).content.decode()

    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert 'hx-get="/admin/"' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_another_annotator_cannot_see_the_queue(
    other_annotator: Persona, work_queue: Queue
) -> None:
    add_items(work_queue, 1)

    assert browser(other_annotator).get(url(work_queue)).status_code == 404


def test_an_outsider_cannot_see_the_queue(outsider: Persona, work_queue: Queue) -> None:
    assert browser(outsider).get(url(work_queue)).status_code == 404


def test_a_lead_who_is_not_assigned_is_told_so(lead: Persona, work_queue: Queue) -> None:
    add_items(work_queue, 1)

    response = browser(lead).post(url(work_queue), follow=True)

    assert response.status_code == 403
    assert "not assigned" in response.content.decode()


def test_anonymous_visitors_log_in_first_and_come_back(work_queue: Queue, db: Any) -> None:
    from django.test import Client

    response = Client().get(url(work_queue))

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url(work_queue)}"


def test_someone_elses_item_cannot_be_submitted(
    annotator: Persona, other_annotator: Persona, work_queue: Queue
) -> None:
    work_queue.annotators.add(other_annotator.user)
    (item,) = add_items(work_queue, 1)
    browser(annotator).post(url(work_queue), follow=True)

    response = browser(other_annotator).post(submit_url(item), {"verdict": "good"}, **HTMX)

    assert 'role="alert"' in response.content.decode()
    assert not Annotation.objects.exists()


def test_home_lists_only_the_annotators_queues_with_progress(
    annotator: Persona, work_queue: Queue, project: Any
) -> None:
    from tests.review.conftest import make_queue

    make_queue(project, [], name="Not yours")
    items = add_items(work_queue, 3)
    client = browser(annotator)
    client.post(url(work_queue), follow=True)
    client.post(submit_url(items[0]), {"verdict": "good"})

    html = client.get("/").content.decode()

    assert "Weekly review" in html and "Not yours" not in html
    assert "1 of 3" in html


def test_recent_annotations_can_be_revised_until_done(
    annotator: Persona, project: Any, guideline: Any
) -> None:
    from tests.review.conftest import make_queue

    queue = make_queue(project, [annotator], name="Pairs", overlap=2)
    queue.annotators.add(annotator.user)
    (item,) = add_items(queue, 1)
    client = browser(annotator)
    client.post(url(queue), follow=True)
    client.post(submit_url(item), {"verdict": "good"})
    annotation = Annotation.objects.get()

    listing = client.get(f"/queues/{queue.pk}/mine")
    partial = client.get(f"/queues/{queue.pk}/mine", **HTMX)
    revised = client.post(
        f"/annotations/{annotation.pk}/edit", {"verdict": "bad", "comment": "second look"}, **HTMX
    )

    assert f"/annotations/{annotation.pk}/edit" in listing.content.decode()
    assert "<html" not in partial.content.decode()
    assert "Saved your revision." in revised.content.decode()
    annotation.refresh_from_db()
    assert annotation.values == {"verdict": "bad", "comment": "second look"}
    assert annotation.revision == 2


def test_it_takes_no_lease_when_the_workspace_page_is_opened(
    annotator: Persona, work_queue: Queue
) -> None:
    add_items(work_queue, 2)
    client = browser(annotator)
    before = Lease.objects.count()

    page = client.get(url(work_queue))
    partial = client.get(url(work_queue), **HTMX)

    assert Lease.objects.count() == before == 0
    html = page.content.decode()
    assert page.status_code == 200 and partial.status_code == 200
    assert f'hx-post="{url(work_queue)}" hx-trigger="load"' in html
    assert f'action="{url(work_queue)}"' in html and ">Start</button>" in html


def test_it_leases_on_the_start_post_and_shows_the_held_item_on_a_get(
    annotator: Persona, work_queue: Queue
) -> None:
    first, _second = add_items(work_queue, 2)
    client = browser(annotator)

    started = client.post(url(work_queue))
    leases = Lease.objects.count()
    shown = client.get(url(work_queue))

    assert started.status_code == 302 and started["Location"] == url(work_queue)
    assert leases == 1 and Lease.objects.count() == 1
    assert f'aria-label="Item {first.pk}"' in shown.content.decode()


def test_it_leases_the_next_item_before_a_plain_submit_redirects(
    annotator: Persona, work_queue: Queue
) -> None:
    first, second = add_items(work_queue, 2)
    client = browser(annotator)
    client.post(url(work_queue))

    client.post(submit_url(first), {"verdict": "good"})
    page = client.get(url(work_queue))

    assert f'aria-label="Item {second.pk}"' in page.content.decode()
