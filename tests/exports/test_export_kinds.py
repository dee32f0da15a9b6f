"""Every kind of export, row by row and field by field, from crafted reviewed items."""

from __future__ import annotations

from typing import Any

import pytest

from annotation.models import JobStatus, Project
from tests.conftest import Persona
from tests.exports.conftest import SYSTEM, Reviews, build, conversation, rows

QUESTION = "How do I reset my password?"
RESPONSE = "Open Settings, then Security."


def user_turn(text: str = QUESTION) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


# -- sft -----------------------------------------------------------------------------------------


def test_sft_ends_each_conversation_with_the_correction_or_the_approved_response(
    reviews: Reviews, project: Project, engineer: Persona
) -> None:
    reviews.item("q1", annotations=[{"verdict": "bad", "correction": "Use the reset link."}])
    reviews.item("q2", annotations=[{"verdict": "good", "rating": 5}])
    reviews.item("q3", annotations=[{"verdict": "bad", "reasons": ["incorrect"]}])
    # The workspace prefills the correction with the response: unchanged, it is no correction.
    reviews.item(
        "q4", annotations=[{"verdict": "good", "correction": " Open Settings,\nthen Security. "}]
    )
    reviews.item("q5", "", annotations=[{"verdict": "good"}])
    reviews.item(messages="What is 2 + 2?", response="4", annotations=[{"verdict": "good"}])

    export = build(project, engineer, kind="sft")

    assert export.status == JobStatus.DONE
    assert rows(export) == [
        {"messages": [SYSTEM, user_turn("q1"), assistant("Use the reset link.")]},
        {"messages": [SYSTEM, user_turn("q2"), assistant(RESPONSE)]},
        {"messages": [SYSTEM, user_turn("q4"), assistant(RESPONSE)]},
        {"messages": [user_turn("What is 2 + 2?"), assistant("4")]},
    ]
    counts = export.manifest["counts"]
    assert counts["rows"] == export.rows == 4
    assert counts["items"] == 6
    assert counts["excluded"] == {"empty_response": 1, "rejected_without_correction": 1}


def test_sft_replaces_the_system_turn_when_asked(
    reviews: Reviews, project: Project, engineer: Persona
) -> None:
    reviews.item("with system", annotations=[{"verdict": "good"}])
    reviews.item(messages=conversation("without", system=False), annotations=[{"verdict": "good"}])

    export = build(project, engineer, kind="sft", system_prompt="Be brief.")

    brief = {"role": "system", "content": "Be brief."}
    assert rows(export) == [
        {"messages": [brief, user_turn("with system"), assistant(RESPONSE)]},
        {"messages": [brief, user_turn("without"), assistant(RESPONSE)]},
    ]
    assert export.manifest["options"]["system_prompt"] == "Be brief."


def test_sft_settles_several_annotators_on_the_majority_verdict_and_its_first_correction(
    reviews: Reviews, project: Project, engineer: Persona
) -> None:
    reviews.item(
        "three",
        annotations=[
            {"verdict": "bad", "correction": "fix A"},
            {"verdict": "good"},
            {"verdict": "bad", "correction": "fix B"},
        ],
    )
    reviews.item(
        "tie on the correction, two to one",
        annotations=[
            {"verdict": "bad", "correction": "fix C"},
            {"verdict": "bad", "correction": "fix D"},
            {"verdict": "bad", "correction": "fix D"},
        ],
    )

    export = build(project, engineer, kind="sft")

    assert [r["messages"][-1]["content"] for r in rows(export)] == ["fix A", "fix D"]


def test_sft_takes_the_leads_adjudication_over_the_annotators(
    reviews: Reviews, project: Project, engineer: Persona
) -> None:
    # The lead sides with "bad" and writes nothing: the correction of the annotator who
    # also said bad is used, not the approval of the one who said good.
    reviews.item(
        "disputed",
        annotations=[{"verdict": "good"}, {"verdict": "bad", "correction": "from ann2"}],
        adjudication={"verdict": "bad"},
    )
    reviews.item(
        "lead corrects",
        annotations=[{"verdict": "good"}, {"verdict": "bad", "correction": "from ann2"}],
        adjudication={"verdict": "bad", "correction": "from the lead"},
    )
    reviews.item(
        "lead approves",
        annotations=[{"verdict": "good"}, {"verdict": "bad", "correction": "from ann2"}],
        adjudication={"verdict": "good"},
    )

    export = build(project, engineer, kind="sft")

    assert [r["messages"][-1]["content"] for r in rows(export)] == [
        "from ann2",
        "from the lead",
        RESPONSE,
    ]


# -- preference ----------------------------------------------------------------------------------


def test_preference_pairs_come_from_corrections_and_ab_comparisons(
    reviews: Reviews, project: Project, engineer: Persona
) -> None:
    reviews.item("corrected", annotations=[{"verdict": "bad", "correction": "Better."}])
    reviews.item("a wins", metadata={"response_b": "Answer B."}, annotations=[{"preference": "A"}])
    reviews.item("b wins", metadata={"response_b": "Answer B."}, annotations=[{"preference": "B"}])
    reviews.item("tie", metadata={"response_b": "Answer B."}, annotations=[{"preference": "tie"}])
    reviews.item("no b", annotations=[{"preference": "A"}])
    reviews.item(
        "both",
        metadata={"response_b": "Answer B."},
        annotations=[{"verdict": "bad", "correction": "Best.", "preference": "B"}],
    )
    reviews.item("approved", annotations=[{"verdict": "good"}])

    export = build(project, engineer, kind="preference")

    def pair(question: str, chosen: str, rejected: str) -> dict[str, Any]:
        return {
            "prompt": [SYSTEM, user_turn(question)],
            "chosen": [assistant(chosen)],
            "rejected": [assistant(rejected)],
        }

    assert rows(export) == [
        pair("corrected", "Better.", RESPONSE),
        pair("a wins", RESPONSE, "Answer B."),
        pair("b wins", "Answer B.", RESPONSE),
        pair("both", "Best.", RESPONSE),
        pair("both", "Answer B.", RESPONSE),
    ]
    assert export.manifest["counts"]["excluded"] == {"no_pair": 1, "no_response_b": 1, "tie": 1}


# -- eval ----------------------------------------------------------------------------------------


def test_eval_rows_carry_prompt_reference_response_labels_and_reasons(
    reviews: Reviews, project: Project, engineer: Persona
) -> None:
    first = reviews.item(
        "q1",
        annotations=[
            {
                "verdict": "bad",
                "reasons": ["incorrect", "unhelpful"],
                "rating": 2,
                "correction": "The right answer.",
                "comment": "It ignored the question.",
            }
        ],
    )
    second = reviews.item("q2", annotations=[{"verdict": "good", "rating": 5}])
    third = reviews.item("q3", annotations=[{"verdict": "bad", "reasons": ["unsafe"]}])

    export = build(project, engineer, kind="eval")

    assert rows(export) == [
        {
            "id": first.interaction.request_id,
            "prompt": [SYSTEM, user_turn("q1")],
            "reference": "The right answer.",
            "response": RESPONSE,
            "labels": {"verdict": "bad", "rating": 2},
            "reasons": ["incorrect", "unhelpful"],
        },
        {
            "id": second.interaction.request_id,
            "prompt": [SYSTEM, user_turn("q2")],
            "reference": RESPONSE,
            "response": RESPONSE,
            "labels": {"verdict": "good", "rating": 5},
            "reasons": [],
        },
        {
            "id": third.interaction.request_id,
            "prompt": [SYSTEM, user_turn("q3")],
            "reference": None,
            "response": RESPONSE,
            "labels": {"verdict": "bad"},
            "reasons": ["unsafe"],
        },
    ]


# -- retrieval -----------------------------------------------------------------------------------

DOCS = [
    {"id": "kb-1", "text": "Reset links expire after an hour.", "score": 0.91, "source": "kb"},
    {"id": "kb-2", "text": "Billing happens monthly.", "score": 0.42, "source": "kb"},
    {"id": "kb-3", "text": "Security settings.", "score": 0.4, "source": None},
    {"id": "kb-4", "text": "Not judged.", "score": None, "source": "web"},
]


def _retrieval_row(item: Any, doc: dict[str, Any], rank: int, relevant: bool) -> dict[str, Any]:
    return {
        "query_id": item.interaction.request_id,
        "query": QUESTION,
        "doc_id": doc["id"],
        "doc_text": doc["text"],
        "relevant": relevant,
        "rank": rank,
        "score": doc["score"],
        "source": doc["source"],
    }


@pytest.mark.parametrize(
    ("partial", "partially_relevant"), [("relevant", True), ("irrelevant", False)]
)
def test_retrieval_gives_one_row_per_judged_document(
    reviews: Reviews, project: Project, engineer: Persona, partial: str, partially_relevant: bool
) -> None:
    judged = {"kb-1": "relevant", "kb-2": "irrelevant", "kb-3": "partially_relevant"}
    item = reviews.item(QUESTION, retrieved_context=DOCS, annotations=[{"relevance": judged}])
    reviews.item("no judgements", retrieved_context=DOCS, annotations=[{"verdict": "good"}])

    export = build(project, engineer, kind="retrieval", partial_relevance=partial)

    assert rows(export) == [
        _retrieval_row(item, DOCS[0], 1, True),
        _retrieval_row(item, DOCS[1], 2, False),
        _retrieval_row(item, DOCS[2], 3, partially_relevant),
    ]
    assert export.manifest["counts"]["excluded"] == {"no_judgements": 1}
    assert export.manifest["options"]["partial_relevance"] == partial


def test_retrieval_settles_each_document_by_majority(
    reviews: Reviews, project: Project, engineer: Persona
) -> None:
    item = reviews.item(
        QUESTION,
        retrieved_context=DOCS[:2],
        annotations=[
            {"relevance": {"kb-1": "relevant", "kb-2": "relevant"}},
            {"relevance": {"kb-1": "irrelevant", "kb-2": "irrelevant"}},
            {"relevance": {"kb-1": "relevant", "kb-2": "irrelevant"}},
        ],
    )

    export = build(project, engineer, kind="retrieval")

    assert rows(export) == [
        _retrieval_row(item, DOCS[0], 1, True),
        _retrieval_row(item, DOCS[1], 2, False),
    ]


# -- annotations ---------------------------------------------------------------------------------


def _annotation_rows(reviews: Reviews) -> tuple[list[dict[str, Any]], Any]:
    item = reviews.item(
        QUESTION,
        annotations=[
            {"verdict": "bad", "correction": "Fixed.", "reasons": ["incorrect"]},
            {"verdict": "good", "rating": 4, "comment": 'fine, "really"\nfine'},
        ],
        annotators=["ann1", "ann2"],
        guideline=[2, 3],
        adjudication={"verdict": "bad", "correction": "Lead's fix."},
        reasons=["low_rated", "random"],
        inclusion_probability=0.25,
        metadata={"locale": "en-GB", "tenant": "acme"},
    )
    return list(item.annotations.order_by("pk")), item


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_annotations_give_one_row_per_annotation_with_everything_known_about_it(
    reviews: Reviews, project: Project, engineer: Persona, fmt: str
) -> None:
    annotations, item = _annotation_rows(reviews)

    export = build(project, engineer, kind="annotations", format=fmt)

    expected = [
        {
            "annotation_id": a.pk,
            "request_id": item.interaction.request_id,
            "queue_id": reviews.queue.pk,
            "queue": "weekly",
            "item_id": item.pk,
            "item_reasons": ["low_rated", "random"],
            "inclusion_probability": 0.25,
            "annotator": a.annotator.username,
            "guideline_version": version,
            "revision": a.revision,
            "seconds": a.seconds,
            "values": a.values,
            "created_at": a.created_at,
            "updated_at": a.updated_at,
            "adjudication": {"verdict": "bad", "correction": "Lead's fix."},
            "metadata": {"locale": "en-GB", "tenant": "acme"},
        }
        for a, version in zip(annotations, [2, 3], strict=True)
    ]
    got = rows(export)
    if fmt == "jsonl":
        # JSON has no timestamps: RFC 3339 strings in UTC.
        for row in expected:
            for name in ("created_at", "updated_at"):
                row[name] = row[name].isoformat().replace("+00:00", "Z")
    assert got == expected
    assert export.manifest["guideline_versions"] == [2, 3]
    assert export.manifest["options"]["dedupe"] is False


@pytest.mark.postgresql
def test_the_streamed_query_and_keyset_pages_write_the_same_bytes(
    reviews: Reviews, project: Project, engineer: Persona
) -> None:
    for n in range(7):
        reviews.item(
            f"q{n}",
            annotations=[{"verdict": "bad", "correction": f"fix {n}"}, {"verdict": "bad"}],
            metadata={"response_b": f"b{n}"},
            guideline=[2, 3],
        )
    for kind in ("sft", "annotations"):
        streamed = build(project, engineer, kind=kind, streaming=True)
        paged = build(project, engineer, kind=kind, streaming=False)

        assert [f["sha256"] for f in streamed.manifest["files"]] == [
            f["sha256"] for f in paged.manifest["files"]
        ]
        assert streamed.rows == paged.rows > 0


def test_keyset_pages_of_any_size_read_the_same_items(
    reviews: Reviews, project: Project, engineer: Persona
) -> None:
    """The SQLite sibling of the streamed-query test: the path the embedded database takes."""
    from annotation.schemas.export_request import ExportFilters
    from annotation.selectors.exports import Columns, ReviewedItems

    for n in range(7):
        reviews.item(
            f"q{n}",
            annotations=[{"verdict": "bad", "correction": f"fix {n}"}, {"verdict": "bad"}],
            metadata={"response_b": f"b{n}"},
            guideline=[2, 3],
        )
    items = ReviewedItems(project.pk, ExportFilters())
    for kind in ("sft", "annotations"):
        columns = Columns.for_kind(kind, split=True, sampled_by=True)
        whole = list(items.stream(columns, streaming=False))
        paged = list(items.stream(columns, page_size=2, streaming=False))

        assert paged == whole
        assert len(whole) == 7
        assert [len(item.annotations) for item in whole] == [2] * 7
    assert build(project, engineer, kind="sft").rows == 7


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_it_sets_the_stream_s_planner_settings_for_its_transaction_only(
    reviews: Reviews, project: Project
) -> None:
    # SET LOCAL in a transaction of its own: nothing stays on the session (a pooled connection
    # goes back to PgBouncer clean, whatever the export did).
    from django.db import connection

    from annotation.schemas.export_request import ExportFilters
    from annotation.selectors.exports import Columns, ReviewedItems

    for n in range(3):
        reviews.item(f"q{n}", annotations=[{"verdict": "bad"}, {"verdict": "bad"}])
    items = ReviewedItems(project.pk, ExportFilters())
    in_transaction = []

    for _item in items.stream(Columns.for_kind("sft", split=True), streaming=True):
        in_transaction.append(connection.in_atomic_block)
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_sort")
        enable_sort = cursor.fetchone()[0]

    assert in_transaction == [True, True, True]
    assert enable_sort == "on"
