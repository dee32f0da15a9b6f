# Samples in other scripts and typographic apostrophes are the point here.
# ruff: noqa: RUF001
from __future__ import annotations

import pytest

from annotation.checks.detectors import (
    FormatIssue,
    Span,
    check_empty,
    check_json,
    check_language,
    check_max_length,
    check_refusal,
    check_truncated,
    validate_json_schema,
    validate_regex,
)


def _codes(issues: list[FormatIssue]) -> list[str]:
    return [issue.code for issue in issues]


# --- empty -------------------------------------------------------------------


@pytest.mark.parametrize("response", ["", " ", "\n\t  \n"])
def test_it_flags_empty_responses(response: str) -> None:
    assert _codes(check_empty(response)) == ["empty_response"]


@pytest.mark.parametrize("response", ["ok", "  .  "])
def test_it_passes_non_empty_responses(response: str) -> None:
    assert check_empty(response) == []


# --- length ------------------------------------------------------------------


def test_it_flags_responses_over_the_length_limit() -> None:
    [issue] = check_max_length("abcdef", 4)
    assert issue.code == "too_long"
    assert issue.spans == (Span(4, 6, "too_long"),)
    assert "6" in issue.message and "4" in issue.message


@pytest.mark.parametrize("limit", [6, 100])
def test_it_passes_responses_within_the_length_limit(limit: int) -> None:
    assert check_max_length("abcdef", limit) == []


def test_it_rejects_a_negative_length_limit() -> None:
    with pytest.raises(ValueError):
        check_max_length("abc", -1)


# --- JSON --------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name"],
}


@pytest.mark.parametrize(
    "response",
    [
        '{"name": "x"}',
        '  {"name": "x", "tags": ["a"]}\n',
        '```json\n{"name": "x"}\n```',
        '```\n{"name": "x"}\n```',
    ],
)
def test_it_passes_valid_json(response: str) -> None:
    assert check_json(response, SCHEMA) == []
    assert check_json(response, None) == []


@pytest.mark.parametrize(
    ("response", "position"),
    [
        ("Sure! Here is the JSON.", 0),
        ('{"name": "x",}', 13),
        ('{"name": "x"', 12),
        ('```json\n{"name": }\n```', 17),
        ("\n\n  nope", 4),
    ],
)
def test_it_flags_invalid_json_at_the_error_position(response: str, position: int) -> None:
    [issue] = check_json(response, None)
    assert issue.code == "invalid_json"
    expected = min(position, len(response) - 1)
    assert issue.spans == (Span(expected, expected + 1, "invalid_json"),)
    assert "line" in issue.message and "column" in issue.message


def test_it_flags_an_empty_response_as_invalid_json_without_a_span() -> None:
    [issue] = check_json("", None)
    assert issue.code == "invalid_json"
    assert issue.spans == ()


def test_it_flags_a_schema_mismatch_naming_the_path() -> None:
    [issue] = check_json('{"name": "x", "tags": ["a", 3]}', SCHEMA)
    assert issue.code == "schema_mismatch"
    assert "$.tags[1]" in issue.message


def test_it_flags_a_missing_required_property() -> None:
    [issue] = check_json("{}", SCHEMA)
    assert issue.code == "schema_mismatch"
    assert "name" in issue.message


def test_it_refuses_to_check_against_an_invalid_schema() -> None:
    with pytest.raises(ValueError, match="type"):
        check_json("{}", {"type": "strnig"})


# --- refusal -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "phrase"),
    [
        ("I can't help with that.", "I can't help with that"),
        ("I can’t help with that.", "I can’t help with that"),
        ("i CANNOT assist with this request", "i CANNOT assist"),
        ("As an AI language model, I have no opinions.", "As an AI language model"),
        ("I'm sorry, but I can't do that.", "I'm sorry, but I can't"),
        ("I’m sorry but I cannot share it.", "I’m sorry but I cannot"),
        ("Unfortunately I am unable to browse.", "I am unable to"),
        ('She said "I must decline" politely.', "I must decline"),
    ],
)
def test_it_flags_refusals(response: str, phrase: str) -> None:
    [issue] = check_refusal(response)
    assert issue.code == "refusal"
    [span] = issue.spans
    assert response[span.start : span.end] == phrase


@pytest.mark.parametrize(
    "response",
    [
        "Sure, I can help with that.",
        "Here is how to assist a colleague.",
        "The AI language model market is growing.",
        "I am unable-bodied? No.",
        "Being unable to sleep is common.",
    ],
)
def test_it_passes_responses_that_are_not_refusals(response: str) -> None:
    assert check_refusal(response) == []


def test_it_reports_every_refusal_phrase() -> None:
    response = "I cannot assist. As an AI language model, I must decline."
    [issue] = check_refusal(response)
    assert [response[s.start : s.end] for s in issue.spans] == [
        "I cannot assist",
        "As an AI language model",
        "I must decline",
    ]


def test_it_uses_custom_refusal_phrases() -> None:
    assert _codes(check_refusal("Computer says no.", ["computer says no"])) == ["refusal"]
    assert check_refusal("I can't help with that.", ["computer says no"]) == []
    assert check_refusal("anything", []) == []


# --- truncation --------------------------------------------------------------


@pytest.mark.parametrize("metadata", [{"finish_reason": "length"}, {"stop_reason": "max_tokens"}])
def test_it_flags_truncated_responses(metadata: dict[str, object]) -> None:
    assert _codes(check_truncated(metadata)) == ["truncated"]


@pytest.mark.parametrize(
    "metadata",
    [{}, {"finish_reason": "stop"}, {"finish_reason": None}, {"stop_reason": "end_turn"}],
)
def test_it_passes_complete_responses(metadata: dict[str, object]) -> None:
    assert check_truncated(metadata) == []


# --- language ----------------------------------------------------------------

SAMPLES = {
    "en": "The quick brown fox jumps over the lazy dog, and then it runs into the forest "
    "because it is afraid of the hunters that were waiting there.",
    "de": "Der schnelle braune Fuchs springt über den faulen Hund und dann läuft er in den "
    "Wald, weil er Angst vor den Jägern hat, die dort gewartet haben.",
    "fr": "Le renard brun rapide saute par-dessus le chien paresseux et puis il court dans la "
    "forêt parce qu'il a peur des chasseurs qui l'attendaient.",
    "es": "El rápido zorro marrón salta sobre el perro perezoso y luego corre hacia el bosque "
    "porque tiene miedo de los cazadores que lo esperaban allí.",
    "it": "La volpe marrone veloce salta sopra il cane pigro e poi corre nella foresta perché "
    "ha paura dei cacciatori che la aspettavano lì.",
    "pt": "A rápida raposa marrom pula sobre o cão preguiçoso e depois corre para a floresta "
    "porque tem medo dos caçadores que a esperavam lá.",
    "nl": "De snelle bruine vos springt over de luie hond en dan rent hij het bos in, omdat "
    "hij bang is voor de jagers die daar op hem wachtten.",
    "ru": "Быстрая коричневая лиса прыгает через ленивую собаку, а затем убегает в лес, "
    "потому что боится охотников.",
    "el": "Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο και τρέχει στο δάσος.",
    "ar": "الثعلب البني السريع يقفز فوق الكلب الكسول ثم يركض إلى الغابة لأنه يخاف من الصيادين.",
    "he": "השועל החום המהיר קופץ מעל הכלב העצלן ואז רץ אל היער כי הוא מפחד מהציידים.",
    "hi": "तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूदती है और फिर जंगल में भाग जाती है।",
    "zh": "敏捷的棕色狐狸跳过了那只懒惰的狗，然后跑进了森林，因为它害怕那些猎人。",
    "ja": "素早い茶色の狐はのろまな犬を飛び越えて、猟師が怖いので森の中へ走っていきました。",
    "ko": "빠른 갈색 여우가 게으른 개를 뛰어넘고 사냥꾼이 무서워서 숲으로 달려갔습니다.",
}


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_it_passes_text_in_the_expected_language(language: str) -> None:
    assert check_language(SAMPLES[language], language) == []


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "de"),
        ("de", "en"),
        ("fr", "es"),
        ("es", "pt"),
        ("pt", "es"),
        ("it", "fr"),
        ("nl", "de"),
        ("ru", "en"),
        ("el", "ru"),
        ("ar", "he"),
        ("hi", "en"),
        ("ja", "zh"),
        ("zh", "ko"),
        ("en", "ja"),
        ("en", "sv"),  # an unlisted Latin-script language: flagged only when clear
    ],
)
def test_it_flags_text_in_another_language(language: str, expected: str) -> None:
    [issue] = check_language(SAMPLES[language], expected)
    assert issue.code == "wrong_language"
    assert expected in issue.message


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("Hallo Welt", "en"),  # fewer than 20 letters
        ("OK 200 12345 !!!", "de"),
        ("Paris Berlin Madrid Rome Lisbon Amsterdam Vienna", "de"),  # no stopwords
        ("Den snabba bruna räven hoppar över den lata hunden och springer in i skogen.", "sv"),
        (SAMPLES["en"], "en-US"),
        (SAMPLES["de"], "DE_at"),
    ],
)
def test_it_stays_silent_when_unsure_or_right(response: str, expected: str) -> None:
    assert check_language(response, expected) == []


@pytest.mark.parametrize("expected", ["", "  ", "e1", "-"])
def test_it_rejects_a_malformed_expected_language(expected: str) -> None:
    with pytest.raises(ValueError, match="ISO 639-1"):
        check_language(SAMPLES["en"], expected)


# --- configuration validators ------------------------------------------------


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object"},
        {"$schema": "http://json-schema.org/draft-07/schema#", "type": "string"},
        True,
        SCHEMA,
    ],
)
def test_it_accepts_valid_json_schemas(schema: object) -> None:
    validate_json_schema(schema)


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "strnig"}, r"\$\.type"),
        ({"properties": {"a": {"minimum": "x"}}}, r"\$\.properties\.a\.minimum"),
        ({"required": "name"}, "required"),
        ({"$schema": "https://example.com/my-schema"}, "Unknown JSON Schema dialect"),
        (["not", "a", "schema"], "object or a boolean"),
        ("string", "object or a boolean"),
    ],
)
def test_it_rejects_invalid_json_schemas(schema: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_json_schema(schema)


@pytest.mark.parametrize(
    "pattern",
    [r"\bfoo\b", r"(?i)refund policy", r"[0-9]{3}-[0-9]{4}", "(a+)+b", "((a+))+x", "a" * 1000],
)
def test_it_accepts_valid_regexes(pattern: str) -> None:
    validate_regex(pattern)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(abc", "missing \\): \\(abc"),
        ("[a-", "missing \\]"),
        ("*a", "no argument for repetition operator"),
        ("", "empty"),
        ("a*", "matches the empty string"),
        (r"(\w+) \1", "backreferences are not supported"),
        ("(?P<w>a)(?P=w)", "not supported"),
        ("refund(?= policy)", "lookahead is not supported"),
        ("(?<!no )refund", "lookbehind is not supported"),
        (r"end\Z", "use \\\\z"),
        ("a" * 1001, "1001 characters long; the limit is 1000"),
        (42, "must be a string"),
    ],
)
def test_it_rejects_invalid_regexes(pattern: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_regex(pattern)
