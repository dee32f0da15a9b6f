"""An agreement report for a queue's annotations: per field, per annotator, per guideline version.

Pure computation over plain records, so the Celery task only has to load them; see
`annotation.agreement` for the metrics themselves.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING, Any, Literal

from annotation.review.settle import Outcome, SchemaRoles, settle
from annotation.schemas.label_schema import RELEVANCE_OPTIONS, FieldSpec

if TYPE_CHECKING:
    from annotation.agreement import Level

CATEGORICAL = ("choice", "pairwise", "likert", "multi_choice", "relevance")
Progress = Callable[[float], None]


@dataclass(frozen=True, slots=True)
class AnnotationRecord:
    item_id: int
    annotator: str
    values: Mapping[str, Any]
    guideline_version: int | None = None


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 6)


def _interval(pair: tuple[float, float]) -> list[float | None]:
    return [_finite(pair[0]), _finite(pair[1])]


def _validator(spec: FieldSpec, taxonomy: Sequence[str]) -> Callable[[Any], bool]:
    """Whether a value fits the field as the schema stands now (built once per field)."""
    if spec.type in ("choice", "pairwise"):
        allowed = frozenset(
            ("A", "B", "tie") if spec.type == "pairwise" else spec.allowed(taxonomy)
        )
        return lambda value: value.__class__ is str and value in allowed
    if spec.type == "likert":
        scale = frozenset(range(spec.min, spec.max + 1))
        return lambda value: value.__class__ is int and value in scale
    if spec.type == "multi_choice":
        options = frozenset(spec.allowed(taxonomy))
        return lambda value: value.__class__ is list and options.issuperset(value)
    if spec.type == "relevance":
        ratings = frozenset(spec.options or RELEVANCE_OPTIONS)
        return lambda value: value.__class__ is dict and ratings.issuperset(value.values())
    return lambda value: False


@dataclass
class _Field:
    """The units of one field: item -> annotator -> value, with what did not fit the schema."""

    spec: FieldSpec
    units: dict[Hashable, dict[str, Any]]
    out_of_schema: int
    examples: list[Any]


def _collect_all(
    specs: Sequence[FieldSpec], records: Sequence[AnnotationRecord], taxonomy: Sequence[str]
) -> list[_Field]:
    """The units of every field in one pass over the records."""
    fields = [_Field(spec, defaultdict(dict), 0, []) for spec in specs]
    checks = [(field, field.spec.name, _validator(field.spec, taxonomy)) for field in fields]
    empty: tuple[Any, ...] = (None, "", [], {})
    for record in records:
        values = record.values
        for field, name, valid in checks:
            value: Any = values.get(name)
            if value in empty:
                continue
            if not valid(value):
                field.out_of_schema += 1
                if len(field.examples) < 5:
                    field.examples.append(value)
                continue
            if field.spec.type == "relevance":
                for document, label in value.items():
                    field.units[(record.item_id, document)][record.annotator] = label
            elif field.spec.type == "multi_choice":
                field.units[record.item_id][record.annotator] = frozenset(value)
            else:
                field.units[record.item_id][record.annotator] = value
    for field in fields:
        field.units = dict(field.units)
    return fields


def _collect(
    spec: FieldSpec, records: Sequence[AnnotationRecord], taxonomy: Sequence[str]
) -> _Field:
    return _collect_all([spec], records, taxonomy)[0]


def _scalar_metrics(
    units: list[dict[str, Any]],
    level: Level,
    categories: Sequence[Hashable] | None,
    *,
    resamples: int,
    seed: int,
    overlap: int,
) -> dict[str, Any]:
    # numpy and krippendorff load here, in the worker computing a report, not in every web process.
    from annotation.agreement import cohen_kappa
    from annotation.agreement_bootstrap import Coincidences

    coincidences = Coincidences(units, level, categories)
    intervals = coincidences.bootstrap(n_resamples=resamples, seed=seed) if resamples else None
    metrics: dict[str, Any] = {
        "units": coincidences.items,
        "krippendorff_alpha": _finite(coincidences.alpha()),
        "percent_agreement": _finite(coincidences.percent_agreement()),
    }
    if intervals:
        metrics["krippendorff_alpha_ci"] = _interval(intervals["alpha"])
        metrics["percent_agreement_ci"] = _interval(intervals["percent_agreement"])
    annotators = {a for unit in units for a in unit}
    paired = [u for u in units if len(u) >= 2]
    if len(annotators) == 2 and paired:
        weights: Literal["quadratic"] | None = None if level == "nominal" else "quadratic"
        metrics["cohen_kappa"] = _finite(
            cohen_kappa(paired, weights=weights, categories=categories)
        )
    if level == "nominal":
        metrics.update(_fleiss(units, overlap, resamples=resamples, seed=seed))
    return metrics


def _fleiss(
    units: list[dict[str, Any]], overlap: int, *, resamples: int, seed: int
) -> dict[str, Any]:
    """Fleiss' kappa over the items with exactly ``overlap`` answers (the queue's fixed overlap).

    Items still waiting for answers (or whose annotators left the field empty) have fewer
    ratings, which Fleiss' kappa cannot take; they are left out and the count says so.
    """
    from annotation.agreement_bootstrap import Coincidences

    complete = [u for u in units if len(u) == overlap]
    if overlap < 2 or not complete:
        return {
            "fleiss_kappa": None,
            "fleiss_kappa_items": 0,
            "fleiss_kappa_note": f"No item has all {overlap} answers yet.",
        }
    coincidences = Coincidences(complete, "nominal")
    metrics: dict[str, Any] = {
        "fleiss_kappa": _finite(coincidences.fleiss_kappa() or math.nan),
        "fleiss_kappa_items": coincidences.items,
    }
    if resamples:
        metrics["fleiss_kappa_ci"] = _interval(
            coincidences.fleiss_bootstrap(n_resamples=resamples, seed=seed)
        )
    return metrics


def _field_report(
    field: _Field, taxonomy: Sequence[str], *, resamples: int, seed: int, overlap: int
) -> dict[str, Any]:
    spec = field.spec
    report: dict[str, Any] = {
        "name": spec.name,
        "type": spec.type,
        "agreement_required": spec.agreement,
    }
    if field.out_of_schema:
        report["out_of_schema"] = {"count": field.out_of_schema, "examples": field.examples}
    units = list(field.units.values())
    if not any(len(u) >= 2 for u in units):
        report["status"] = "not_computable"
        report["reason"] = (
            "No item of this field has two annotations yet."
            if units
            else "No annotation has a value for this field."
        )
        return report
    report["status"] = "ok"
    if spec.type == "likert":
        scale = list(range(spec.min, spec.max + 1))
        report["levels"] = {
            level: _scalar_metrics(
                units, level, scale, resamples=resamples, seed=seed, overlap=overlap
            )
            for level in ("ordinal", "interval")
        }
        report.update(report["levels"]["ordinal"])
    elif spec.type == "multi_choice":
        labels = sorted({label for unit in units for chosen in unit.values() for label in chosen})
        per_label = []
        for label in labels:
            binary = [{a: label in chosen for a, chosen in unit.items()} for unit in units]
            per_label.append(
                {
                    "label": label,
                    **_scalar_metrics(
                        binary, "nominal", [False, True], resamples=0, seed=seed, overlap=overlap
                    ),
                }
            )
        report["per_label"] = per_label
        alphas = [
            entry["krippendorff_alpha"]
            for entry in per_label
            if entry["krippendorff_alpha"] is not None
        ]
        report["krippendorff_alpha"] = _finite(sum(alphas) / len(alphas)) if alphas else None
        report["units"] = sum(1 for u in units if len(u) >= 2)
        report["note"] = "Agreement per reason as a yes/no label; the overall figure is their mean."
    else:
        report.update(
            _scalar_metrics(units, "nominal", None, resamples=resamples, seed=seed, overlap=overlap)
        )
    return report


def _pairwise_matrix(units: dict[Hashable, dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    together: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for unit in units.values():
        for a, b in combinations(sorted(unit), 2):
            together[(a, b)].append(unit[a] == unit[b])
    matrix: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for (a, b), agreed in together.items():
        entry = {"items": len(agreed), "percent_agreement": _finite(sum(agreed) / len(agreed))}
        matrix[a][b] = entry
        matrix[b][a] = entry
    return dict(matrix)


def _per_annotator(
    units: dict[Hashable, dict[str, Any]],
    adjudicated: Mapping[Any, Any],
    settled: Mapping[Any, Any] | None = None,
) -> list[dict[str, Any]]:
    settled = settled or {}
    with_others: dict[str, list[float]] = defaultdict(list)
    with_final: dict[str, list[bool]] = defaultdict(list)
    with_settled: dict[str, list[bool]] = defaultdict(list)
    counts: Counter[str] = Counter()
    for item, unit in units.items():
        for annotator, value in unit.items():
            counts[annotator] += 1
            others = [v for a, v in unit.items() if a != annotator]
            if others:
                with_others[annotator].append(sum(v == value for v in others) / len(others))
            if item in adjudicated:
                with_final[annotator].append(adjudicated[item] == value)
            if item in settled and len(unit) >= 2:
                with_settled[annotator].append(settled[item] == value)
    return [
        {
            "annotator": annotator,
            "items": counts[annotator],
            "agreement_with_others": _finite(
                sum(with_others[annotator]) / len(with_others[annotator])
            )
            if with_others[annotator]
            else None,
            "agreement_with_adjudicated": _finite(
                sum(with_final[annotator]) / len(with_final[annotator])
            )
            if with_final[annotator]
            else None,
            "adjudicated_items": len(with_final[annotator]),
            "agreement_with_settled": _finite(
                sum(with_settled[annotator]) / len(with_settled[annotator])
            )
            if with_settled[annotator]
            else None,
            "settled_items": len(with_settled[annotator]),
        }
        for annotator in sorted(counts)
    ]


def build_report(
    fields: Sequence[FieldSpec],
    records: Sequence[AnnotationRecord],
    *,
    adjudicated: Mapping[int, Mapping[str, Any]] | None = None,
    taxonomy: Sequence[str] = (),
    overlap: int = 2,
    resamples: int = 500,
    seed: int = 0,
    progress: Progress | None = None,
    roles: SchemaRoles | None = None,
    done_items: Collection[int] | None = None,
) -> dict[str, Any]:
    """The whole report; `progress` is called with a fraction as fields are done.

    With the schema's ``roles`` and the ids of the queue's ``done_items``, the report
    also settles those items as exports and the guard report do (``annotation.review.settle``):
    how many settled, and how often each annotator gave the settled answer.
    """
    adjudicated = adjudicated or {}
    categorical = [spec for spec in fields if spec.type in CATEGORICAL]
    skipped = [spec.name for spec in fields if spec.type not in CATEGORICAL]
    items = {record.item_id for record in records}
    report: dict[str, Any] = {
        "items": len(items),
        "annotations": len(records),
        "annotators": sorted({record.annotator for record in records}),
        "free_text_fields": skipped,
        "seed": seed,
        "resamples": resamples,
        "fields": [],
        "warnings": [],
    }
    if overlap < 2:
        report["status"] = "not_computable"
        report["reason"] = (
            "The queue asks for one annotation per item (overlap 1), so no two annotators ever "
            "label the same item; raise the overlap to measure agreement."
        )
        return report
    if not records:
        report["status"] = "not_computable"
        report["reason"] = "The queue has no annotations yet."
        return report
    collected = _collect_all(categorical, records, taxonomy)
    steps = len(collected) + 2
    for done, field in enumerate(collected, start=1):
        report["fields"].append(
            _field_report(field, taxonomy, resamples=resamples, seed=seed, overlap=overlap)
        )
        if field.out_of_schema:
            report["warnings"].append(
                f"{field.out_of_schema} value(s) of '{field.spec.name}' do not fit the current "
                "schema (left from an older schema version?) and were left out."
            )
        if progress:
            progress(done / steps)
    main = next(
        (f for f in collected if f.spec.agreement and f.spec.type != "multi_choice"), None
    ) or next((f for f in collected if f.spec.type not in ("multi_choice", "relevance")), None)
    report["status"] = (
        "ok" if any(f.get("status") == "ok" for f in report["fields"]) else "not_computable"
    )
    if report["status"] != "ok":
        report["reason"] = "No field has an item with two annotations yet."
    if main is not None:
        final = {
            item: values[main.spec.name]
            for item, values in adjudicated.items()
            if main.spec.name in values
        }
        settled_main: dict[int, Any] = {}
        if roles is not None and done_items is not None:
            summary, outcomes = _settle_items(records, adjudicated, roles, done_items)
            report["settled"] = summary
            settled_main = {
                item: _comparable(main.spec, outcome.values.get(main.spec.name))
                for item, outcome in outcomes.items()
                if outcome.settled
            }
        report["main_field"] = main.spec.name
        report["pairwise"] = _pairwise_matrix(main.units)
        report["per_annotator"] = _per_annotator(main.units, final, settled_main)
        report["by_guideline_version"] = _by_version(main, records, taxonomy)
    if progress:
        progress(1.0)
    return report


def _comparable(spec: FieldSpec, value: Any) -> Any:
    return frozenset(value) if spec.type == "multi_choice" and isinstance(value, list) else value


def _settle_items(
    records: Sequence[AnnotationRecord],
    adjudicated: Mapping[int, Mapping[str, Any]],
    roles: SchemaRoles,
    done_items: Collection[int],
) -> tuple[dict[str, int], dict[int, Outcome]]:
    """Each done item settled as exports settle it, and how many settled and how."""
    done = set(done_items)
    answers: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        if record.item_id in done:
            answers[record.item_id].append(record.values)
    outcomes = {
        item: settle(roles, answers.get(item, []), adjudicated.get(item))
        for item in sorted(done)
        if answers.get(item) or item in adjudicated
    }
    settled = sum(1 for o in outcomes.values() if o.settled)
    summary = {
        "done_items": len(done),
        "settled": settled,
        "adjudicated": sum(1 for o in outcomes.values() if o.settled and o.adjudicated),
        "majority": sum(1 for o in outcomes.values() if o.settled and not o.adjudicated),
        "unsettled_ties": len(outcomes) - settled,
    }
    return summary, outcomes


def _by_version(
    main: _Field, records: Sequence[AnnotationRecord], taxonomy: Sequence[str]
) -> list[dict[str, Any]]:
    """The main field's agreement among annotations made under each guideline version."""
    from annotation.agreement_bootstrap import Coincidences

    spec = main.spec
    versions: dict[int | None, list[AnnotationRecord]] = defaultdict(list)
    for record in records:
        versions[record.guideline_version].append(record)
    level: Level = "ordinal" if spec.type == "likert" else "nominal"
    scale = list(range(spec.min, spec.max + 1)) if spec.type == "likert" else None
    trend = []
    for version in sorted(versions, key=lambda v: (v is None, v or 0)):
        # With a single version the units are the main field's own; no second pass is needed.
        units = (
            main.units if len(versions) == 1 else _collect(spec, versions[version], taxonomy).units
        )
        coincidences = Coincidences(list(units.values()), level, scale)
        trend.append(
            {
                "guideline_version": version,
                "annotations": len(versions[version]),
                "units": coincidences.items,
                "krippendorff_alpha": _finite(coincidences.alpha()),
                "percent_agreement": _finite(coincidences.percent_agreement()),
            }
        )
    return trend
