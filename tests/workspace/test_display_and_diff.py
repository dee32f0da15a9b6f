"""Human labels for review values, and the correction diff (pure functions, no database)."""

from __future__ import annotations

import pytest

from annotation.review.correction_diff import correction_changed, correction_diff
from annotation.review.display import (
    human,
    inclusion_text,
    option_label,
    reason_label,
    shown_values,
    value_text,
)

SCHEMA = {
    "fields": [
        {"name": "verdict", "label": "Verdict", "type": "choice", "options": ["good", "bad"]},
        {"name": "reasons", "type": "multi_choice", "options": "taxonomy"},
        {"name": "preference", "type": "pairwise"},
        {"name": "relevance", "type": "relevance"},
        {"name": "rating", "type": "likert"},
        {"name": "comment", "type": "text"},
    ]
}
TAXONOMY = [{"name": "off_topic"}, {"name": "unsafe", "label": "Harmful or leaks data"}]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("off_topic", "Off topic"),
        ("low-rated", "Low rated"),
        ("PII", "PII"),
        ("A", "A"),
        ("already words here", "already words here"),
        ("", ""),
        (None, ""),
    ],
)
def test_names_read_as_words(name: object, words: str) -> None:
    assert human(name) == words


def test_values_read_in_the_schemas_order_with_its_labels() -> None:
    values = {
        "comment": "It's ['fine']",
        "reasons": ["off_topic", "unsafe"],
        "verdict": "bad",
        "preference": "tie",
        "relevance": {"kb-7": "partially_relevant"},
        "rating": 4,
        "extra": "not_in_schema",
    }

    shown = [(v.label, v.text) for v in shown_values(values, schema=SCHEMA, taxonomy=TAXONOMY)]

    assert shown == [
        ("Verdict", "Bad"),
        ("Reasons", "Off topic, Harmful or leaks data"),
        ("Preference", "Tie"),
        ("Relevance", "kb-7: Partially relevant"),
        ("Rating", "4"),
        ("Comment", "It's ['fine']"),  # people's text is left exactly as written
        ("Extra", "Not in schema"),
    ]


def test_odd_values_never_show_as_python() -> None:
    assert value_text([]) == "—"
    assert value_text(None) == "—"
    assert value_text(True) == "Yes"
    assert value_text(0.25) == "0.25"
    assert value_text(["a_b", 3]) == "A b, 3"
    assert shown_values("not a dict", schema=SCHEMA) == []
    assert shown_values({"x": 1}, schema="not a schema") == [shown_values({"x": 1}, schema={})[0]]
    assert option_label("B", kind="pairwise") == "B is better"


def test_reasons_and_sampling_read_as_sentences() -> None:
    assert reason_label("low_rated") == "Low rating"
    assert reason_label("my_rule") == "My rule"
    assert inclusion_text(1.0) == "every such interaction is picked"
    assert inclusion_text(0.01) == "about 1 in 100 such interactions is picked"
    assert inclusion_text(0.25) == "about 25% of such interactions are picked"
    assert inclusion_text(0) == "" and inclusion_text("x") == "" and inclusion_text(None) == ""


def test_spacing_alone_is_no_correction() -> None:
    assert not correction_changed(
        "Open Settings, then Security.", " Open  Settings,\nthen Security."
    )
    assert correction_changed("Open Settings.", "Open Billing.")
    diff = correction_diff("Open Settings.", "Open  Settings.")
    assert diff.unchanged and not diff.rewrite


def test_a_small_edit_reads_inline_and_a_rewrite_side_by_side() -> None:
    small = correction_diff(
        "The Team plan includes unlimited storage for everyone.",
        "The Team plan includes 5 TB storage for everyone.",
    )
    rewrite = correction_diff(
        "Honestly that's a stupid question, read the docs.",
        "Open Settings and choose Security, then Reset password.",
    )

    assert small.changed_words == 2 + 1  # "unlimited" out; "5", "TB" in
    assert not small.rewrite
    assert str(small.inline_html()) == (
        "<span>The Team plan includes </span><del>unlimited</del><ins>5 TB</ins>"
        "<span> storage for everyone.</span>"
    )
    assert rewrite.rewrite and rewrite.changed_share > 0.5
    assert "<ins>" not in str(rewrite.before_html()) and "<del>" not in str(rewrite.after_html())


def test_the_diff_escapes_what_it_shows() -> None:
    diff = correction_diff("<b>hi</b>", "<script>alert(1)</script>\nbye")

    html = str(diff.inline_html()) + str(diff.before_html()) + str(diff.after_html())
    assert "<script" not in html and "<b>" not in html
    assert "&lt;" in html and "alert(1)" in html and "<br>" in html
