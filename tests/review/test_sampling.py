from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from annotation.models import Check, Interaction, Project, Queue, QueueItem
from annotation.selectors.sampling import queue_sample_preview
from annotation.services.queues import queue_fill_now, queue_update
from annotation.services.sampling import queue_sample_insert
from tests.conftest import Persona
from tests.review.conftest import make_queue
from tests.review.data import flag, implicit, interaction, label, rating


def items_of(queue: Queue) -> dict[str, QueueItem]:
    return {
        item.interaction.request_id: item
        for item in QueueItem.objects.filter(queue=queue).select_related("interaction")
    }


def test_it_picks_low_ratings_thumbs_down_and_negative_labels(
    project: Project, annotator: Persona
) -> None:
    rating(interaction(project, "low"), 0.25)
    rating(interaction(project, "edge"), 0.4)
    rating(interaction(project, "high"), 0.75)
    rating(interaction(project, "thumbs-down"), 0.0, scale="thumbs")
    label(interaction(project, "negative"), "incorrect")
    interaction(project, "silent")
    queue = make_queue(project, [annotator])

    fill = queue_fill_now(queue=queue)

    assert set(items_of(queue)) == {"low", "edge", "thumbs-down", "negative"}
    assert fill.added == 4
    assert fill.by_reason == {"low_rated": 4}
    assert all(item.inclusion_probability == 1.0 for item in items_of(queue).values())


def test_it_ignores_labels_outside_the_negative_taxonomy(
    project: Project, annotator: Persona
) -> None:
    project.taxonomy = [*project.taxonomy, {"name": "praise", "description": "", "negative": False}]
    project.save()
    label(interaction(project, "praised"), "praise")
    label(interaction(project, "unsafe"), "praise", "unsafe")
    queue = make_queue(project, [annotator])

    queue_fill_now(queue=queue)

    assert set(items_of(queue)) == {"unsafe"}


def test_it_picks_flags_of_the_named_checks_at_or_above_the_severity(
    project: Project, annotator: Persona, checks: dict[str, Check]
) -> None:
    flag(interaction(project, "pii-critical"), checks["pii"], severity=30)
    flag(interaction(project, "blocklist-warning"), checks["blocklist"], severity=20)
    flag(interaction(project, "blocklist-info"), checks["blocklist"], severity=10)
    flag(interaction(project, "judge-warning"), checks["judge"], severity=20)
    flag(interaction(project, "pii-passed"), checks["pii"], flagged=False)
    queue = make_queue(
        project,
        [annotator],
        sources=[{"type": "flagged", "checks": ["pii", "blocklist"], "min_severity": "warning"}],
    )

    queue_fill_now(queue=queue)

    assert set(items_of(queue)) == {"pii-critical", "blocklist-warning"}


def test_it_picks_evaluator_scores_inside_the_band(
    project: Project, annotator: Persona, checks: dict[str, Check]
) -> None:
    for request_id, score in [("s30", 0.3), ("s40", 0.4), ("s50", 0.5), ("s60", 0.6), ("s70", 0.7)]:
        flag(interaction(project, request_id), checks["judge"], score=score, flagged=score > 0.5)
    flag(interaction(project, "rule"), checks["pii"], score=0.5)
    queue = make_queue(
        project,
        [annotator],
        sources=[{"type": "uncertain", "checks": ["judge"], "low": 0.4, "high": 0.6}],
    )

    queue_fill_now(queue=queue)

    assert set(items_of(queue)) == {"s40", "s50", "s60"}


def test_it_picks_abandoned_rephrased_and_regenerated(project: Project, annotator: Persona) -> None:
    implicit(interaction(project, "abandoned"), "abandoned")
    implicit(interaction(project, "rephrased"), "rephrased")
    implicit(interaction(project, "regenerated"), "regenerated")
    implicit(interaction(project, "copied"), "copy")
    queue = make_queue(
        project,
        [annotator],
        sources=[{"type": "implicit_negative", "events": ["abandoned", "rephrased"]}],
    )

    queue_fill_now(queue=queue)

    assert set(items_of(queue)) == {"abandoned", "rephrased"}


def test_an_interaction_enters_once_with_all_its_reasons(
    project: Project, annotator: Persona, checks: dict[str, Check]
) -> None:
    both = interaction(project, "both")
    rating(both, 0.0)
    rating(both, 0.25)
    flag(both, checks["pii"])
    rating(interaction(project, "only-low"), 0.0)
    queue = make_queue(project, [annotator], sources=[{"type": "low_rated"}, {"type": "flagged"}])

    fill = queue_fill_now(queue=queue)

    items = items_of(queue)
    assert set(items) == {"both", "only-low"}
    assert items["both"].reasons == ["low_rated", "flagged"]
    assert items["only-low"].reasons == ["low_rated"]
    assert fill.by_reason == {"flagged": 1, "low_rated": 2}


def test_refilling_adds_only_new_interactions(project: Project, annotator: Persona) -> None:
    rating(interaction(project, "first"), 0.0)
    queue = make_queue(project, [annotator])
    queue_fill_now(queue=queue)
    rating(interaction(project, "second"), 0.0)

    fill = queue_fill_now(queue=queue)

    assert fill.added == 1
    assert set(items_of(queue)) == {"first", "second"}


def test_capacity_takes_whole_strata_in_priority_order_and_draws_the_last(
    project: Project, annotator: Persona, checks: dict[str, Check]
) -> None:
    for n in range(5):
        rating(interaction(project, f"low-{n}"), 0.0)
    for n in range(3):
        flag(interaction(project, f"flag-{n}"), checks["pii"])
    both = interaction(project, "both")
    rating(both, 0.0)
    flag(both, checks["pii"])
    queue = make_queue(
        project,
        [annotator],
        sources=[{"type": "low_rated"}, {"type": "flagged"}],
        priority=["flagged"],
        capacity=6,
    )

    fill = queue_fill_now(queue=queue)

    # The flagged stratum (its most important reason is flagged) whole, then 2 of the 5 low-rated.
    assert fill.added == 6
    assert fill.room == 6
    assert fill.capacity_reached
    assert fill.strata == {
        "flagged": {"candidates": 4, "taken": 4},
        "low_rated": {"candidates": 5, "taken": 2},
    }
    items = items_of(queue)
    flagged = {"both", "flag-0", "flag-1", "flag-2"}
    assert flagged <= set(items)
    assert set(items) - flagged <= {f"low-{n}" for n in range(5)}
    for request_id, item in items.items():
        if request_id in flagged:
            assert (item.stratum, item.stratum_fraction) == ("flagged", 1.0)
            assert item.inclusion_probability == 1.0
        else:
            assert (item.stratum, item.stratum_fraction) == ("low_rated", pytest.approx(0.4))
            assert item.inclusion_probability == pytest.approx(0.4)
        assert item.source_probability == 1.0
    order = list(
        QueueItem.objects.filter(queue=queue)
        .order_by("-priority", "id")
        .values_list("interaction__request_id", flat=True)
    )
    # Served by priority: flagged and low-rated first, then flagged, then low-rated.
    assert order[0] == "both"
    assert set(order[1:4]) == {"flag-0", "flag-1", "flag-2"}


def test_a_capacity_cut_records_the_share_of_the_stratum_taken(
    project: Project, annotator: Persona, checks: dict[str, Check]
) -> None:
    for n in range(40):
        flag(interaction(project, f"flag-{n}"), checks["pii"])
    queue = make_queue(project, [annotator], sources=[{"type": "flagged"}], capacity=10)

    fill = queue_fill_now(queue=queue)

    assert fill.added == 10
    assert fill.strata == {"flagged": {"candidates": 40, "taken": 10}}
    probabilities = [item.inclusion_probability for item in items_of(queue).values()]
    assert probabilities == [pytest.approx(0.25)] * 10


def test_the_capacity_draw_repeats_for_a_fill_and_differs_between_fills(
    project: Project, annotator: Persona, checks: dict[str, Check]
) -> None:
    for n in range(60):
        flag(interaction(project, f"flag-{n}"), checks["pii"])
    queue = make_queue(project, [annotator], sources=[{"type": "flagged"}], capacity=15)

    def taken(fill_id: int) -> frozenset[int]:
        with transaction.atomic():
            queue_sample_insert(queue=queue, fill_id=fill_id)
            ids = frozenset(
                QueueItem.objects.filter(queue=queue).values_list("interaction_id", flat=True)
            )
            transaction.set_rollback(True)
        return ids

    first, again, other = taken(101), taken(101), taken(102)

    assert len(first) == len(other) == 15
    assert first == again
    assert first != other


def test_a_refill_draws_afresh_and_records_its_own_fractions(
    project: Project, annotator: Persona, checks: dict[str, Check]
) -> None:
    for n in range(30):
        flag(interaction(project, f"flag-{n}"), checks["pii"])
    queue = make_queue(project, [annotator], sources=[{"type": "flagged"}], capacity=10)
    first = queue_fill_now(queue=queue)
    QueueItem.objects.filter(queue=queue).update(state="done")
    for n in range(10):
        flag(interaction(project, f"new-{n}"), checks["pii"])

    second = queue_fill_now(queue=queue)

    # The 20 left out last time and the 10 new ones are the second fill's candidates.
    assert first.strata == {"flagged": {"candidates": 30, "taken": 10}}
    assert second.strata == {"flagged": {"candidates": 30, "taken": 10}}
    for fill in (first, second):
        probabilities = QueueItem.objects.filter(fill=fill).values_list(
            "inclusion_probability", flat=True
        )
        assert list(probabilities) == [pytest.approx(1 / 3)] * 10
    taken_second = set(
        QueueItem.objects.filter(fill_id=second.pk).values_list(
            "interaction__request_id", flat=True
        )
    )
    # Leftovers compete with the new ones on a fresh draw (the old one would keep them out).
    assert taken_second & {f"flag-{n}" for n in range(30)}


def test_a_probability_sums_over_the_strata_an_item_could_have_landed_in(
    project: Project, annotator: Persona
) -> None:
    for n in range(400):
        target = interaction(project, f"i-{n}")
        if n < 200:
            rating(target, 0.0)
    queue = make_queue(
        project,
        [annotator],
        sources=[{"type": "low_rated", "rate": 0.5}, {"type": "random", "rate": 0.3}],
        capacity=130,
    )

    fill = queue_fill_now(queue=queue)

    # About 100 low-rated picks fill the first stratum whole; the random stratum (the other
    # random picks, about 0.5 · 0.3 · 200 + 0.3 · 200 = 90) gets the rest.
    low, rest = fill.strata["low_rated"], fill.strata["random"]
    assert low["taken"] == low["candidates"]
    assert rest["taken"] == 130 - low["taken"] < rest["candidates"]
    f = rest["taken"] / rest["candidates"]
    for request_id, item in items_of(queue).items():
        n = int(request_id.split("-")[1])
        if n < 200:
            # low-rated first with 0.5, else random with 0.5 · 0.3.
            expected = 0.5 * 1.0 + 0.5 * 0.3 * f
            assert item.source_probability == pytest.approx(1 - 0.5 * 0.7)
        else:
            expected = 0.3 * f
            assert item.source_probability == pytest.approx(0.3)
        assert item.inclusion_probability == pytest.approx(expected), request_id
        assert item.stratum_fraction == pytest.approx(1.0 if item.stratum == "low_rated" else f)


def test_capacity_counts_only_unfinished_items(project: Project, annotator: Persona) -> None:
    for n in range(4):
        rating(interaction(project, f"low-{n}"), 0.0)
    queue = make_queue(project, [annotator], capacity=2)
    queue_fill_now(queue=queue)
    QueueItem.objects.filter(queue=queue).update(state="done")

    fill = queue_fill_now(queue=queue)

    assert fill.added == 2
    assert QueueItem.objects.filter(queue=queue).count() == 4


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"model": "gpt-y"}, {"model-y"}),
        ({"model_version": ["2026-11-15", "2026-12-01"]}, {"version-new"}),
        ({"prompt_template": "refunds"}, {"template"}),
        ({"prompt_template": "support_answer", "prompt_template_version": "4"}, {"template-v4"}),
        ({"experiment": "tone-test", "variant": "B"}, {"variant-b"}),
        ({"metadata": {"locale": "de-DE"}}, {"german"}),
        ({"metadata": {"vip": True}}, {"vip"}),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-03T00:00:00Z"}, {"jan-2"}),
    ],
)
def test_filters_narrow_the_candidates(
    project: Project, annotator: Persona, filters: dict[str, Any], expected: set[str]
) -> None:
    later = timezone.now()
    specs: dict[str, dict[str, Any]] = {
        "plain": {},
        "model-y": {"model": "gpt-y"},
        "version-new": {"model_version": "2026-11-15"},
        "template": {"prompt_template": "refunds"},
        "template-v4": {"prompt_template_version": "4"},
        "variant-b": {"experiment": "tone-test", "variant": "B"},
        "german": {"metadata": {"locale": "de-DE"}},
        "vip": {"metadata": {"vip": True, "locale": "en-GB"}},
        "jan-2": {"timestamp": datetime(2026, 1, 2, 12, tzinfo=UTC)},
    }
    for request_id, fields in specs.items():
        fields.setdefault("timestamp", later)
        rating(interaction(project, request_id, **fields), 0.0)
    queue = make_queue(project, [annotator], filters=filters)

    queue_fill_now(queue=queue)

    assert set(items_of(queue)) == expected


def test_the_last_hours_filter_is_relative_to_the_fill(
    project: Project, annotator: Persona
) -> None:
    now = timezone.now()
    rating(interaction(project, "recent", timestamp=now - timedelta(hours=1)), 0.0)
    rating(interaction(project, "old", timestamp=now - timedelta(hours=5)), 0.0)
    queue = make_queue(project, [annotator], filters={"last_hours": 2})

    queue_fill_now(queue=queue)

    assert set(items_of(queue)) == {"recent"}


def test_inclusion_probability_combines_the_sources_whose_criteria_are_met(
    project: Project, annotator: Persona, checks: dict[str, Check]
) -> None:
    for n in range(300):
        target = interaction(project, f"i-{n}")
        if n < 100:
            rating(target, 0.0)
        if 50 <= n < 150:
            flag(target, checks["pii"])
    queue = make_queue(
        project,
        [annotator],
        sources=[
            {"type": "low_rated", "rate": 0.5},
            {"type": "flagged", "rate": 0.8},
            {"type": "random", "rate": 0.1},
        ],
        capacity=1000,
    )

    queue_fill_now(queue=queue)

    expected = {
        "low": 1 - 0.5 * 0.9,
        "both": 1 - 0.5 * 0.2 * 0.9,
        "flag": 1 - 0.2 * 0.9,
        "none": 0.1,
    }
    for request_id, item in items_of(queue).items():
        n = int(request_id.split("-")[1])
        group = "both" if 50 <= n < 100 else "low" if n < 50 else "flag" if n < 150 else "none"
        assert item.inclusion_probability == pytest.approx(expected[group]), request_id
        assert item.reasons
    # Interactions picked only by the random source say so.
    randoms = [i for r, i in items_of(queue).items() if int(r.split("-")[1]) >= 150]
    assert randoms and all(item.reasons == ["random"] for item in randoms)


def test_a_rated_source_picks_about_its_rate(project: Project, annotator: Persona) -> None:
    for n in range(400):
        rating(interaction(project, f"i-{n}"), 0.0)
    queue = make_queue(project, [annotator], sources=[{"type": "low_rated", "rate": 0.5}])

    fill = queue_fill_now(queue=queue)

    # Binomial(400, 0.5): mean 200, sd 10; 4 sd either way.
    assert 160 <= fill.added <= 240


def _random_sample(project: Project, annotator: Persona, name: str, seed: int) -> set[str]:
    queue = make_queue(
        project,
        [annotator],
        name=name,
        sources=[{"type": "random", "rate": 0.05, "seed": seed}],
        capacity=100_000,
    )
    queue_fill_now(queue=queue)
    return set(items_of(queue))


def test_random_sampling_hits_its_rate_and_repeats_with_the_same_seed(
    project: Project, annotator: Persona
) -> None:
    now = timezone.now()
    Interaction.objects.bulk_create(
        [
            Interaction(
                project=project, request_id=f"r-{n}", timestamp=now, received_at=now, messages=[]
            )
            for n in range(4000)
        ]
    )

    first = _random_sample(project, annotator, "a", seed=11)
    again = _random_sample(project, annotator, "b", seed=11)
    other = _random_sample(project, annotator, "c", seed=12)

    # Binomial(4000, 0.05): mean 200, sd 13.8; 4 sd either way.
    assert 145 <= len(first) <= 255
    assert first == again
    assert first != other
    assert 145 <= len(other) <= 255


def test_changing_other_sources_does_not_redraw_the_random_sample(
    project: Project, annotator: Persona
) -> None:
    for n in range(500):
        interaction(project, f"i-{n}")
    queue = make_queue(project, [annotator], sources=[{"type": "random", "rate": 0.1}])
    queue_fill_now(queue=queue)
    before = set(items_of(queue))
    queue_update(queue=queue, sources=[{"type": "low_rated"}, {"type": "random", "rate": 0.1}])

    fill = queue_fill_now(queue=queue)

    assert fill.added == 0
    assert set(items_of(queue)) == before


def test_the_preview_counts_what_a_fill_would_add_without_adding_it(
    project: Project, annotator: Persona, checks: dict[str, Check]
) -> None:
    for n in range(5):
        rating(interaction(project, f"low-{n}"), 0.0)
    for n in range(3):
        flag(interaction(project, f"flag-{n}"), checks["pii"])
    queue = make_queue(
        project,
        [annotator],
        sources=[{"type": "low_rated"}, {"type": "flagged"}],
        priority=["flagged"],
        capacity=4,
    )

    preview = queue_sample_preview(queue=queue)

    assert preview.room == 4
    assert preview.candidates == 8
    assert preview.candidates_by_reason == {"low_rated": 5, "flagged": 3}
    assert preview.would_add == 4
    assert preview.would_add_by_reason == {"low_rated": 1, "flagged": 3}
    assert QueueItem.objects.filter(queue=queue).count() == 0
    assert queue_fill_now(queue=queue).by_reason == preview.would_add_by_reason
