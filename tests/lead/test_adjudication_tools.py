"""Adjudication: who said what, the count left, one-click accept of an annotator's answers,
and a confirmation once saved."""

from __future__ import annotations

import pytest

from annotation.models import Project, Queue, QueueItem, Role
from annotation.models.review import Adjudication, ItemState
from tests.agreement.conftest import annotate
from tests.conftest import Persona, _persona
from tests.factories import InteractionFactory, QueueItemFactory
from tests.review.conftest import make_queue
from tests.workspace.conftest import browser


@pytest.fixture
def second(project: Project) -> Persona:
    return _persona(project, "second", Role.ANNOTATOR)


@pytest.fixture
def disputes(
    project: Project, annotator: Persona, second: Persona
) -> tuple[Queue, list[QueueItem]]:
    queue = make_queue(project, [annotator, second], name="Disputes", overlap=2)
    items = []
    for n in range(3):
        item = QueueItemFactory(
            queue=queue,
            interaction=InteractionFactory(project=project, response=f"Answer {n}."),
            annotations_done=2,
            state=ItemState.NEEDS_ADJUDICATION,
        )
        annotate(item, annotator, {"verdict": "good", "rating": 4})
        annotate(item, second, {"verdict": "bad", "rating": 4, "correction": f"Better {n}."})
        items.append(item)
    return queue, items


def test_the_page_says_who_said_what_and_how_many_are_left(
    lead: Persona, disputes: tuple[Queue, list[QueueItem]]
) -> None:
    queue, items = disputes

    page = browser(lead).get(f"/lead/queues/{queue.pk}/items/{items[0].pk}/adjudicate")

    html = page.content.decode()
    assert page.status_code == 200
    assert "<strong data-left>3</strong> items left" in html
    verdict = html[html.index('data-said="verdict"') : html.index('data-said="reasons"')]
    assert "disagree" in verdict
    assert 'good</span> <span class="said-who">annotator</span>' in verdict.lower()
    assert 'bad</span> <span class="said-who">second</span>' in verdict.lower()
    rating = html[html.index('data-said="rating"') : html.index('data-said="correction"')]
    assert "disagree" not in rating and "annotator, second" in rating
    assert 'data-accept="annotator"' in html and 'data-accept="second"' in html


def test_one_click_accepts_an_annotators_answers_and_confirms(
    lead: Persona, second: Persona, disputes: tuple[Queue, list[QueueItem]]
) -> None:
    queue, items = disputes
    client = browser(lead)
    chosen = items[0].annotations.get(annotator=second.user)

    response = client.post(
        f"/lead/queues/{queue.pk}/items/{items[0].pk}/adjudicate", {"accept": str(chosen.pk)}
    )

    assert response.status_code == 302
    assert Adjudication.objects.get(item=items[0]).values == {
        "verdict": "bad",
        "rating": 4,
        "correction": "Better 0.",
    }
    assert QueueItem.objects.get(pk=items[0].pk).state == ItemState.DONE
    page = client.get(response["Location"]).content.decode()
    assert f"Saved item {items[0].pk} with second&#x27;s answers as final. 2 items left" in page
    assert "<strong data-left>2</strong>" in page


def test_the_last_one_says_nothing_is_left(
    lead: Persona, annotator: Persona, disputes: tuple[Queue, list[QueueItem]]
) -> None:
    queue, items = disputes
    client = browser(lead)
    for item in items:
        accepted = item.annotations.get(annotator=annotator.user)
        response = client.post(
            f"/lead/queues/{queue.pk}/items/{item.pk}/adjudicate", {"accept": str(accepted.pk)}
        )

    assert response["Location"] == f"/lead/queues/{queue.pk}/adjudication"
    page = client.get(response["Location"]).content.decode()
    assert "Nothing left to adjudicate." in page and "<strong>0</strong> items left" in page


def test_an_annotation_of_another_item_cannot_be_accepted(
    lead: Persona, disputes: tuple[Queue, list[QueueItem]]
) -> None:
    queue, items = disputes
    elsewhere = items[1].annotations.first()
    assert elsewhere is not None

    response = browser(lead).post(
        f"/lead/queues/{queue.pk}/items/{items[0].pk}/adjudicate", {"accept": str(elsewhere.pk)}
    )

    assert response.status_code == 404
    assert not Adjudication.objects.exists()


@pytest.mark.parametrize("who", ["engineer", "second"])
def test_only_leads_accept(
    request: pytest.FixtureRequest, disputes: tuple[Queue, list[QueueItem]], who: str
) -> None:
    queue, items = disputes
    persona: Persona = request.getfixturevalue(who)
    chosen = items[0].annotations.first()
    assert chosen is not None

    response = browser(persona).post(
        f"/lead/queues/{queue.pk}/items/{items[0].pk}/adjudicate", {"accept": str(chosen.pk)}
    )

    assert response.status_code == 403
    assert not Adjudication.objects.exists()
