"""A small dependency-free language guesser: scripts by Unicode range, and
English, German, French, Spanish, Italian, Portuguese and Dutch by stopwords.

It only answers when it is confident; ``None`` means "don't know", never
"wrong".
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

MIN_LETTERS = 20

# Unicode blocks of the scripts told apart, as (script, [(first, last), ...]).
_SCRIPT_RANGES: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = (
    ("Latin", ((0x41, 0x5A), (0x61, 0x7A), (0xC0, 0xD6), (0xD8, 0xF6), (0xF8, 0x24F))),
    ("Greek", ((0x370, 0x3FF), (0x1F00, 0x1FFF))),
    ("Cyrillic", ((0x400, 0x52F),)),
    ("Armenian", ((0x530, 0x58F),)),
    ("Hebrew", ((0x590, 0x5FF),)),
    ("Arabic", ((0x600, 0x6FF), (0x750, 0x77F), (0x8A0, 0x8FF), (0xFB50, 0xFDFF))),
    ("Devanagari", ((0x900, 0x97F),)),
    ("Bengali", ((0x980, 0x9FF),)),
    ("Gurmukhi", ((0xA00, 0xA7F),)),
    ("Gujarati", ((0xA80, 0xAFF),)),
    ("Tamil", ((0xB80, 0xBFF),)),
    ("Telugu", ((0xC00, 0xC7F),)),
    ("Kannada", ((0xC80, 0xCFF),)),
    ("Malayalam", ((0xD00, 0xD7F),)),
    ("Thai", ((0xE00, 0xE7F),)),
    ("Georgian", ((0x10A0, 0x10FF),)),
    ("Hangul", ((0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7AF))),
    ("Kana", ((0x3040, 0x30FF),)),
    ("Han", ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))),
)
_TAGS = {script: chr(1 + i) for i, (script, _) in enumerate(_SCRIPT_RANGES)}


@functools.cache
def _script_table() -> dict[int, str | None]:
    """A str.translate table mapping each letter to a one-character script tag.

    Translating runs in C, after which counting a script is one str.count.
    Tags are control characters, deleted from the input so they cannot be
    miscounted. Built on first use: it holds some 50,000 code points and
    ASCII text never needs it.
    """
    table: dict[int, str | None] = dict.fromkeys(range(1, 1 + len(_TAGS)))
    for script, ranges in _SCRIPT_RANGES:
        for first, last in ranges:
            table.update(dict.fromkeys(range(first, last + 1), _TAGS[script]))
    return table


# Languages written in each non-Latin script; any other code is assumed Latin.
SCRIPTS_OF_LANGUAGE: dict[str, frozenset[str]] = {
    **dict.fromkeys(
        ("ru", "uk", "bg", "sr", "mk", "be", "kk", "ky", "mn", "tg"), frozenset({"Cyrillic"})
    ),
    "el": frozenset({"Greek"}),
    "hy": frozenset({"Armenian"}),
    **dict.fromkeys(("he", "yi"), frozenset({"Hebrew"})),
    **dict.fromkeys(("ar", "fa", "ur", "ps", "ug"), frozenset({"Arabic"})),
    **dict.fromkeys(("hi", "mr", "ne", "sa"), frozenset({"Devanagari"})),
    **dict.fromkeys(("bn", "as"), frozenset({"Bengali"})),
    "pa": frozenset({"Gurmukhi"}),
    "gu": frozenset({"Gujarati"}),
    "ta": frozenset({"Tamil"}),
    "te": frozenset({"Telugu"}),
    "kn": frozenset({"Kannada"}),
    "ml": frozenset({"Malayalam"}),
    "th": frozenset({"Thai"}),
    "ka": frozenset({"Georgian"}),
    "ko": frozenset({"Hangul"}),
    "ja": frozenset({"Kana", "Han"}),
    "zh": frozenset({"Han"}),
}
_LATIN = frozenset({"Latin"})

_STOPWORDS: dict[str, str] = {
    "en": "the and of to is that it was for on are with as be this have from or by not but "
    "what all were when we there can an your which their if will each about how they she "
    "has been would more these its than should could into also other them those then you "
    "i my our who do does did had may might must here just only some such very",
    "de": "der die das und ist nicht mit sich des auf für ein eine einen einem dem den zu "
    "von im auch es sie ich wir sind wird werden bei oder aber wie noch nach aus kann durch "
    "nur über wenn dass diese dieser dieses haben hat um zum zur sehr man schon keine kein "
    "mehr hier jetzt immer gibt",
    "fr": "le la les de des du et est un une en que qui dans pour pas sur au aux avec ce "
    "cette il elle ils sont ne se par plus mais nous vous ou son sa ses leur été être fait "
    "comme tout aussi très même ont l qu d c n j y peut sans entre donc",
    "es": "el la los las de del y que en es un una por con para no se lo como más pero sus "
    "su le al este esta también muy hay son ser está están sobre entre cuando todo ya fue "
    "ha puede sin sí donde porque esto eso nos hasta desde",
    "it": "il lo la i gli le di del della dei delle che e è un una per non con sono da in si "
    "ma come anche più questo questa al alla nel nella ha hanno essere stato molto se ci "
    "tra suo sua loro cui dove quando perché ancora può degli sul",
    "pt": "o os a as de do da dos das e que em no na nos nas um uma para com não por se "
    "mais mas como foi ao à é são seu sua ele ela isso este esta também muito já pelo pela "
    "ser está tem há quando você entre sobre sem até",
    "nl": "de het een en van is dat die in op te voor met zijn niet aan er ook als maar om "
    "bij dan nog wordt worden kan naar door uit over heeft hebben deze dit wat wel zo geen "
    "meer ze hij wij je u was tot al zou moet",
}
STOPWORD_LANGUAGES = frozenset(_STOPWORDS)


_LANGUAGES = tuple(_STOPWORDS)
# Each stopword's score for every language is packed into one int, one
# fixed-point field per language, so scoring a text is a single C-level
# sum() over its words instead of a loop. A word shared by k languages scores
# 1/k for each, so shared function words ("de", "la", "in") barely move the
# scores and distinctive ones decide; 420 is divisible by every k up to 7.
_SCALE = 420
_FIELD_BITS = 48
_FIELD_MASK = (1 << _FIELD_BITS) - 1


def _packed_weights() -> dict[str, int]:
    owners: dict[str, set[int]] = {}
    for i, words in enumerate(_STOPWORDS.values()):
        for word in words.split():
            owners.setdefault(word, set()).add(i)
    return {
        word: sum((_SCALE // len(langs)) << (_FIELD_BITS * i) for i in langs)
        for word, langs in owners.items()
    }


_WEIGHTS = _packed_weights()
_WEIGHTS_ASCII = {w.encode(): v for w, v in _WEIGHTS.items() if w.isascii()}
_WORD_RE = re.compile(r"[^\W\d_]+")
# ASCII text is lowercased and split into words with bytes methods, several
# times faster than a regex or str.translate.
_ASCII_WORDS = bytes(
    b | 0x20 if chr(b).isascii() and chr(b).isalpha() else ord(" ") for b in range(256)
)
# Stopword share of all words needed to name a language, and how far ahead of
# the runner-up it must be.
_MIN_SHARE = 0.12
_MIN_LEAD = 1.5
_MIN_SCRIPT_SHARE = 0.6


@dataclass(frozen=True, slots=True)
class Detection:
    script: str  # dominant script
    language: str | None  # ISO 639-1 code when the stopwords are conclusive
    share: float  # of the detected language's stopwords among all words, 0.0 if none


def detect(text: str) -> Detection | None:
    """Guess the script and, for Latin text, the language; ``None`` when unsure."""
    if text.isascii():
        data = text.encode("ascii").translate(_ASCII_WORDS)
        if len(data) - data.count(b" ") < MIN_LETTERS:
            return None
        ascii_words = data.split()
        return _latin(sum(filter(None, map(_WEIGHTS_ASCII.get, ascii_words))), len(ascii_words))
    words = _WORD_RE.findall(text.lower())
    if sum(map(len, words)) < MIN_LETTERS:
        return None
    script = _dominant_script(text)
    if script is None:
        return None
    if script != "Latin":
        return Detection(script, None, 0.0)
    return _latin(sum(filter(None, map(_WEIGHTS.get, words))), len(words))


def expected_scripts(language: str) -> frozenset[str]:
    return SCRIPTS_OF_LANGUAGE.get(language, _LATIN)


def _dominant_script(text: str) -> str | None:
    tagged = text.translate(_script_table())
    counts = {script: tagged.count(tag) for script, tag in _TAGS.items()}
    kana, han = counts["Kana"], counts["Han"]
    # Japanese mixes kana with kanji (Han); a tenth of kana marks it.
    if kana and kana * 10 >= kana + han:
        counts["Kana"], counts["Han"] = kana + han, 0
    script, count = max(counts.items(), key=lambda item: item[1])
    if count < MIN_LETTERS or count < _MIN_SCRIPT_SHARE * sum(counts.values()):
        return None
    return script


def _latin(packed_scores: int, n_words: int) -> Detection:
    scores = sorted(
        (((packed_scores >> (_FIELD_BITS * i)) & _FIELD_MASK) / _SCALE, lang)
        for i, lang in enumerate(_LANGUAGES)
    )
    (second, _), (top, best) = scores[-2], scores[-1]
    share = top / n_words if n_words else 0.0
    confident = share >= _MIN_SHARE and top >= _MIN_LEAD * second
    return Detection("Latin", best if confident else None, share)
