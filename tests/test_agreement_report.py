from __future__ import annotations

import random

import krippendorff
import numpy as np
import pytest

from annotation.agreement import krippendorff_alpha, percent_agreement
from annotation.agreement_bootstrap import Coincidences
from annotation.agreement_report import AnnotationRecord, build_report
from annotation.schemas.label_schema import parse_schema

SCHEMA = parse_schema(
    {
        "fields": [
            {"name": "verdict", "type": "choice", "options": ["good", "bad"], "agreement": True},
            {"name": "reasons", "type": "multi_choice", "options": ["incorrect", "unsafe"]},
            {"name": "rating", "type": "likert", "min": 1, "max": 5},
            {"name": "relevance", "type": "relevance"},
            {"name": "comment", "type": "text"},
        ]
    }
)


def random_units(seed: int, levels: int, annotators: str = "abcd") -> list[dict[str, int]]:
    rng = random.Random(seed)
    units = []
    for _ in range(300):
        base = rng.randint(1, levels)
        units.append(
            {
                a: min(levels, max(1, base + rng.choice([-1, 0, 0, 1])))
                for a in annotators
                if rng.random() < 0.75
            }
        )
    return units


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_fast_alpha_matches_the_krippendorff_package(level: str, seed: int) -> None:
    units = random_units(seed, 5)
    scale = [1, 2, 3, 4, 5]

    fast = Coincidences(units, level, scale).alpha()  # type: ignore[arg-type]

    assert fast == pytest.approx(krippendorff_alpha(units, level, scale), abs=1e-9)  # type: ignore[arg-type]
    matrix = np.array([[u.get(a, np.nan) for u in units] for a in "abcd"], dtype=float)
    reference = krippendorff.alpha(
        reliability_data=matrix, level_of_measurement=level, value_domain=scale
    )
    assert fast == pytest.approx(reference, abs=1e-9)


def test_the_fast_percent_agreement_matches() -> None:
    units = random_units(4, 3)

    assert Coincidences(units).percent_agreement() == pytest.approx(
        percent_agreement(units), abs=1e-12
    )


def test_bootstrap_intervals_are_seeded_and_contain_the_estimate() -> None:
    coincidences = Coincidences(random_units(5, 4))

    first = coincidences.bootstrap(n_resamples=300, seed=7)
    again = coincidences.bootstrap(n_resamples=300, seed=7)
    other = coincidences.bootstrap(n_resamples=300, seed=8)

    assert first == again and first != other
    low, high = first["alpha"]
    assert low < coincidences.alpha() < high


def records(*rows: tuple[int, str, dict[str, object]], version: int = 1) -> list[AnnotationRecord]:
    return [AnnotationRecord(item, annotator, values, version) for item, annotator, values in rows]


def test_it_reports_known_disagreements() -> None:
    data = records(
        (1, "ann1", {"verdict": "good", "rating": 5}),
        (1, "ann2", {"verdict": "good", "rating": 4}),
        (1, "ann3", {"verdict": "good", "rating": 5}),
        (2, "ann1", {"verdict": "bad", "rating": 1}),
        (2, "ann2", {"verdict": "bad", "rating": 2}),
        (2, "ann3", {"verdict": "good", "rating": 4}),
        (3, "ann1", {"verdict": "bad", "rating": 2}),
        (3, "ann2", {"verdict": "bad", "rating": 1}),
        (3, "ann3", {"verdict": "bad", "rating": 1}),
    )

    report = build_report(
        SCHEMA, data, adjudicated={2: {"verdict": "bad"}}, overlap=3, resamples=100
    )

    verdict = next(f for f in report["fields"] if f["name"] == "verdict")
    assert verdict["status"] == "ok"
    assert verdict["percent_agreement"] == pytest.approx((1 + 1 / 3 + 1) / 3, abs=1e-6)
    units = [
        {"ann1": "good", "ann2": "good", "ann3": "good"},
        {"ann1": "bad", "ann2": "bad", "ann3": "good"},
        {"ann1": "bad", "ann2": "bad", "ann3": "bad"},
    ]
    assert verdict["krippendorff_alpha"] == pytest.approx(krippendorff_alpha(units), abs=1e-6)
    assert "fleiss_kappa" in verdict and "cohen_kappa" not in verdict
    rating = next(f for f in report["fields"] if f["name"] == "rating")
    assert set(rating["levels"]) == {"ordinal", "interval"}
    assert report["main_field"] == "verdict"
    assert report["pairwise"]["ann1"]["ann2"] == {"items": 3, "percent_agreement": 1.0}
    assert report["pairwise"]["ann1"]["ann3"]["percent_agreement"] == pytest.approx(2 / 3, abs=1e-6)
    by_annotator = {row["annotator"]: row for row in report["per_annotator"]}
    assert by_annotator["ann3"]["agreement_with_adjudicated"] == 0.0
    assert by_annotator["ann1"]["agreement_with_adjudicated"] == 1.0
    assert report["free_text_fields"] == ["comment"]


def test_it_reports_multi_choice_per_reason_and_relevance_per_document() -> None:
    data = records(
        (
            1,
            "a",
            {"reasons": ["incorrect"], "relevance": {"kb-1": "relevant", "kb-2": "irrelevant"}},
        ),
        (
            1,
            "b",
            {
                "reasons": ["incorrect", "unsafe"],
                "relevance": {"kb-1": "relevant", "kb-2": "relevant"},
            },
        ),
        (2, "a", {"reasons": [], "relevance": {"kb-1": "irrelevant"}}),
        (2, "b", {"reasons": ["unsafe"], "relevance": {"kb-1": "irrelevant"}}),
    )

    report = build_report(SCHEMA, data, overlap=2, resamples=0)

    reasons = next(f for f in report["fields"] if f["name"] == "reasons")
    assert [entry["label"] for entry in reasons["per_label"]] == ["incorrect", "unsafe"]
    assert reasons["per_label"][0]["percent_agreement"] == 1.0
    relevance = next(f for f in report["fields"] if f["name"] == "relevance")
    assert relevance["units"] == 3
    assert relevance["percent_agreement"] == pytest.approx(2 / 3, abs=1e-6)


def test_values_from_an_older_schema_are_reported_not_fatal() -> None:
    data = records(
        (1, "a", {"verdict": "good"}),
        (1, "b", {"verdict": "meh"}),
        (2, "a", {"verdict": "bad"}),
        (2, "b", {"verdict": "bad"}),
    )

    report = build_report(SCHEMA, data, overlap=2, resamples=0)

    verdict = next(f for f in report["fields"] if f["name"] == "verdict")
    assert verdict["out_of_schema"] == {"count": 1, "examples": ["meh"]}
    assert any("older schema" in warning for warning in report["warnings"])


def test_overlap_one_cannot_be_measured_and_says_why() -> None:
    report = build_report(SCHEMA, records((1, "a", {"verdict": "good"})), overlap=1)

    assert report["status"] == "not_computable"
    assert "overlap 1" in report["reason"]


def test_a_field_nobody_filled_is_explained() -> None:
    data = records((1, "a", {"verdict": "good"}), (1, "b", {"verdict": "good"}))

    report = build_report(SCHEMA, data, overlap=2, resamples=0)

    rating = next(f for f in report["fields"] if f["name"] == "rating")
    assert rating["status"] == "not_computable"
    assert rating["reason"] == "No annotation has a value for this field."


def test_the_trend_follows_guideline_versions() -> None:
    old = records((1, "a", {"verdict": "good"}), (1, "b", {"verdict": "bad"}), version=1)
    new = records((2, "a", {"verdict": "bad"}), (2, "b", {"verdict": "bad"}), version=2)

    report = build_report(SCHEMA, old + new, overlap=2, resamples=0)

    assert [
        (row["guideline_version"], row["percent_agreement"])
        for row in report["by_guideline_version"]
    ] == [
        (1, 0.0),
        (2, 1.0),
    ]


def _fleiss_records(seed: int, items: int = 120, overlap: int = 3) -> list[AnnotationRecord]:
    """Verdicts by three annotators; a fifth of the items still wait for their third answer."""
    rng = random.Random(seed)
    records = []
    for item in range(items):
        truth = rng.random() < 0.4
        answering = "abc" if item % 5 else "ab"
        for annotator in answering:
            right = rng.random() < 0.8
            verdict = "bad" if truth == right else "good"
            records.append(AnnotationRecord(item, annotator, {"verdict": verdict}))
    return records


def test_it_shows_fleiss_kappa_over_the_items_with_the_full_overlap() -> None:
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

    records = _fleiss_records(3)
    report = build_report(SCHEMA, records, overlap=3, resamples=50, seed=1)
    verdict = next(f for f in report["fields"] if f["name"] == "verdict")

    table = np.zeros((120, 2))
    answers: dict[int, list[str]] = {}
    for record in records:
        answers.setdefault(record.item_id, []).append(record.values["verdict"])
    complete = [values for values in answers.values() if len(values) == 3]
    table = np.array([[v.count("good"), v.count("bad")] for v in complete])
    assert verdict["fleiss_kappa_items"] == len(complete) == 96
    assert verdict["fleiss_kappa"] == pytest.approx(sm_fleiss_kappa(table), abs=1e-6)
    assert verdict["krippendorff_alpha"] is not None


def test_fleiss_kappa_interval_is_the_bootstrap_of_statsmodels_fleiss_kappa() -> None:
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

    records = _fleiss_records(8)
    report = build_report(SCHEMA, records, overlap=3, resamples=200, seed=5)
    verdict = next(f for f in report["fields"] if f["name"] == "verdict")

    answers: dict[int, list[str]] = {}
    for record in records:
        answers.setdefault(record.item_id, []).append(record.values["verdict"])
    complete = [v for v in answers.values() if len(v) == 3]
    # Coincidences orders categories by value: "bad" before "good".
    table = np.array([[v.count("bad"), v.count("good")] for v in complete])
    rng = np.random.default_rng(5)
    kappas = [sm_fleiss_kappa(table[rng.integers(0, len(table), len(table))]) for _ in range(200)]
    expected = np.quantile(kappas, [0.025, 0.975])
    assert verdict["fleiss_kappa_ci"] == pytest.approx(list(expected), abs=1e-6)
    low, high = verdict["fleiss_kappa_ci"]
    assert low < verdict["fleiss_kappa"] < high


def test_fleiss_kappa_says_why_it_is_missing_when_no_item_has_the_full_overlap() -> None:
    records = [
        AnnotationRecord(1, "a", {"verdict": "good"}),
        AnnotationRecord(1, "b", {"verdict": "bad"}),
    ]

    report = build_report(SCHEMA, records, overlap=3, resamples=0)
    verdict = next(f for f in report["fields"] if f["name"] == "verdict")

    assert verdict["fleiss_kappa"] is None
    assert verdict["fleiss_kappa_note"] == "No item has all 3 answers yet."


def test_it_settles_done_items_as_exports_do_and_counts_ties() -> None:
    from annotation.review.settle import schema_roles

    roles = schema_roles(
        {
            "fields": [
                {"name": "verdict", "type": "choice", "options": ["good", "bad"], "agreement": True}
            ]
        }
    )
    records = [
        AnnotationRecord(1, "a", {"verdict": "bad"}),
        AnnotationRecord(1, "b", {"verdict": "bad"}),
        AnnotationRecord(2, "a", {"verdict": "bad"}),
        AnnotationRecord(2, "b", {"verdict": "good"}),  # a tie, nobody decided it
        AnnotationRecord(3, "a", {"verdict": "good"}),
        AnnotationRecord(3, "b", {"verdict": "bad"}),  # the lead decides: bad
    ]

    report = build_report(
        SCHEMA,
        records,
        adjudicated={3: {"verdict": "bad"}},
        overlap=2,
        resamples=0,
        roles=roles,
        done_items=[1, 2, 3],
    )

    assert report["settled"] == {
        "done_items": 3,
        "settled": 2,
        "adjudicated": 1,
        "majority": 1,
        "unsettled_ties": 1,
    }
    by_name = {row["annotator"]: row for row in report["per_annotator"]}
    assert by_name["a"]["agreement_with_settled"] == 0.5
    assert by_name["b"]["agreement_with_settled"] == 1.0
