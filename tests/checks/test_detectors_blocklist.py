from __future__ import annotations

import time

import pytest

from annotation.checks.detectors import DEFAULT_TOXICITY_TERMS, Blocklist, Span

DEFAULT = Blocklist(DEFAULT_TOXICITY_TERMS)


def _matches(blocklist: Blocklist, text: str) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], term) for s, term in blocklist.find_terms(text)]


@pytest.mark.parametrize(
    ("text", "matched", "term"),
    [
        ("You idiot!", "idiot", "idiot"),
        ("You IDIOT!", "IDIOT", "idiot"),
        ("You 1d10t!", "1d10t", "idiot"),
        ("You !d!0t!", "!d!0t", "idiot"),
        ("You i.d.i.o.t!", "i.d.i.o.t", "idiot"),
        ("You i-d-i-o-t!", "i-d-i-o-t", "idiot"),
        ("You i d i o t!", "i d i o t", "idiot"),
        ("You i_d_i_o_t!", "i_d_i_o_t", "idiot"),
        ("You idiooot!", "idiooot", "idiot"),
        ("You iiidiot!", "iiidiot", "idiot"),
        ("Such idiots.", "idiots", "idiot"),
        ("So $tup1d.", "$tup1d", "stupid"),
        ("So 5tupid.", "5tupid", "stupid"),
        ("What a m0r0n", "m0r0n", "moron"),
        ("What a l0$3r", "l0$3r", "loser"),
        ("Just shut up.", "shut up", "shut up"),
        ("Just SHUT-UP.", "SHUT-UP", "shut up"),
        ("Just shutup.", "shutup", "shut up"),
        ("Just shut   up.", "shut   up", "shut up"),
        ("Go kill yourself", "kill yourself", "kill yourself"),
        ("Go k1ll y0ur$3lf", "k1ll y0ur$3lf", "kill yourself"),
        ("I hate you.", "hate you", "hate you"),
        ("(dumb)", "dumb", "dumb"),
        ("You dumbass", "dumbass", "dumbass"),
        ("Café idiot — vraiment", "idiot", "idiot"),
        ("«idiot»", "idiot", "idiot"),
    ],
)
def test_it_finds_obfuscated_terms(text: str, matched: str, term: str) -> None:
    assert _matches(DEFAULT, text) == [(matched, term)]


@pytest.mark.parametrize(
    "text",
    [
        "The class will assess every skill.",
        "A therapist from Scunthorpe.",
        "An idiotic plan.",  # a different word
        "Lift the dumbbell.",
        "I hate your shoes.",
        "Mississippi is as large as it gets.",
        "He is a moronic-sounding name? No: Moroni is a city.",
        "The stupidity index.",
        "Shutters up.",
        "Use the skill yourself.",
    ],
)
def test_it_ignores_innocent_words(text: str) -> None:
    assert DEFAULT.find(text) == []


@pytest.mark.parametrize(
    "text",
    ["class", "classic", "assess", "bass", "passage", "Scunthorpe", "therapist", "skill", "as"],
)
def test_it_matches_whole_words_only(text: str) -> None:
    blocklist = Blocklist(["ass", "cunt", "rapist", "kill"])
    assert blocklist.find(f"A {text} here.") == []


def test_it_still_matches_the_whole_word() -> None:
    blocklist = Blocklist(["ass", "rapist", "kill"])
    assert _matches(blocklist, "You ass, a rapist could kill.") == [
        ("ass", "ass"),
        ("rapist", "rapist"),
        ("kill", "kill"),
    ]


def test_it_maps_spans_to_original_offsets() -> None:
    text = "Ça, — «you 1-d-1-0-t», shut up!"
    assert DEFAULT.find(text) == [Span(11, 20, "blocklist"), Span(23, 30, "blocklist")]
    assert text[11:20] == "1-d-1-0-t"
    assert text[23:30] == "shut up"


def test_it_gives_the_same_spans_for_ascii_and_non_ascii_text() -> None:
    ascii_text = "you i.d.i.o.t, shut up"
    spans = DEFAULT.find(ascii_text)
    shifted = DEFAULT.find("é " + ascii_text)
    assert [(s.start + 2, s.end + 2) for s in spans] == [(s.start, s.end) for s in shifted]


def test_it_prefers_the_longer_of_two_overlapping_terms() -> None:
    blocklist = Blocklist(["dumb", "dumbass", "kill", "kill yourself"])
    assert _matches(blocklist, "dumbass, kill yourself") == [
        ("dumbass", "dumbass"),
        ("kill yourself", "kill yourself"),
    ]


def test_it_normalizes_terms() -> None:
    blocklist = Blocklist(["  Shut   Up ", "IDIOT", "", "idiot"])
    assert blocklist.terms == ("shut up", "idiot")


def test_it_finds_nothing_with_no_terms() -> None:
    assert Blocklist([]).find("idiot") == []


def test_it_matches_non_ascii_terms() -> None:
    blocklist = Blocklist(["crétin"])
    assert _matches(blocklist, "Quel crétin !") == [("crétin", "crétin")]
    assert blocklist.find("What a cretin") == []


def test_it_mixes_ascii_and_non_ascii_terms() -> None:
    blocklist = Blocklist(["élan", "idiot"])
    assert _matches(blocklist, "idiot élan") == [("idiot", "idiot"), ("élan", "élan")]
    assert _matches(blocklist, "an idiot") == [("idiot", "idiot")]


def test_it_caches_compiled_blocklists_by_terms() -> None:
    first = Blocklist(["alpha", "beta"])
    second = Blocklist(["beta", "alpha"])
    assert first._scanner is second._scanner


def test_it_ships_default_terms_including_multi_word_ones() -> None:
    assert 15 <= len(DEFAULT_TOXICITY_TERMS) <= 30
    assert any(" " in term for term in DEFAULT_TOXICITY_TERMS)


@pytest.mark.parametrize("text", ["!" * 20_000, "i" * 20_000, "i " * 10_000, "1-" * 10_000])
def test_it_stays_fast_on_adversarial_input(text: str) -> None:
    started = time.perf_counter()
    DEFAULT.find(text)
    DEFAULT.find("é" + text)
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("That's stupid.", 7),
        ("That\u2019s stupid.", 7),  # right single quotation mark
        ("That\u2018s stupid.", 7),  # left single quotation mark
        ("That`s stupid.", 7),
        ("\u201cs\u201d stupid", 4),  # a quoted letter
        ("Don't be stupid", 9),
        ("I'm moron", 4),
        ("I\u2019m m0r0n", 4),
        ("Well\u2026 it\u2019s  s-tupid", 12),  # separators inside the word still match
    ],
)
def test_a_term_after_an_apostrophe_is_highlighted_alone(text: str, start: int) -> None:
    spans = DEFAULT.find(text)

    assert len(spans) == 1
    assert spans[0].start == start
    assert text[spans[0].start : spans[0].end].lower() in {"stupid", "moron", "m0r0n", "s-tupid"}


def test_a_stretched_first_letter_still_matches() -> None:
    assert _matches(DEFAULT, "So ssstupid.") == [("ssstupid", "stupid")]
