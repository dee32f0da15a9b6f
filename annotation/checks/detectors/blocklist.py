"""Whole-word, obfuscation-tolerant term matching: ``Blocklist``."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable

from annotation.checks.detectors.spans import Span

DEFAULT_TOXICITY_TERMS: tuple[str, ...] = (
    "idiot",
    "stupid",
    "moron",
    "dumb",
    "loser",
    "imbecile",
    "cretin",
    "dimwit",
    "halfwit",
    "nitwit",
    "dumbass",
    "jackass",
    "pathetic",
    "worthless",
    "shut up",
    "kill yourself",
    "go die",
    "hate you",
    "piece of garbage",
    "screw you",
    "get lost",
)

# Characters people substitute for letters (leetspeak), per letter.
_LEET: dict[str, str] = {
    "a": "a4@",
    "e": "e3",
    "i": "i1!|",
    "l": "l1|",
    "o": "o0",
    "s": "s5$",
    "t": "t7",
}
# Punctuation or spaces inserted between the letters of one word: "i.d.i.o.t".
_BETWEEN_LETTERS = r"[\s._\-*~'\",:;/\\+^]{0,2}"
# What separates the words of a multi-word term; may be empty ("shutup").
_BETWEEN_WORDS = r"[\W_]{0,3}"
# Whole word: no letter or digit directly before or after the match.
_WORD_START = r"(?<![^\W_])"
_WORD_END = r"(?![^\W_])"


class Blocklist:
    """A compiled set of terms to find as whole words, case-insensitively.

    Tolerates leetspeak ("1d10t"), separators between letters ("i-d-i-o-t",
    "i d i o t") and stretched letters ("idiooot"); single-word terms also
    match their plural ("idiots"). Offsets refer to the original text.
    """

    __slots__ = ("_pattern", "terms")

    def __init__(self, terms: Iterable[str]) -> None:
        normalized = {" ".join(t.lower().split()) for t in terms}
        normalized.discard("")
        # Longest first, so "kill yourself" wins over a shorter overlapping term.
        self.terms: tuple[str, ...] = tuple(sorted(normalized, key=lambda t: (-len(t), t)))
        self._pattern = _compile(self.terms)

    def __repr__(self) -> str:
        return f"Blocklist({list(self.terms)!r})"

    def find(self, text: str) -> list[Span]:
        """Spans (kind ``"blocklist"``) of every term occurrence, sorted by start."""
        if self._pattern is None:
            return []
        return [Span(m.start(), m.end(), "blocklist") for m in self._pattern.finditer(text)]

    def find_terms(self, text: str) -> list[tuple[Span, str]]:
        """Like ``find``, paired with the blocklisted term each span matched."""
        if self._pattern is None:
            return []
        return [
            (Span(m.start(), m.end(), "blocklist"), self.terms[int(str(m.lastgroup)[1:])])
            for m in self._pattern.finditer(text)
        ]


@functools.lru_cache(maxsize=128)
def _compile(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    if not terms:
        return None
    alternatives = "|".join(f"(?P<t{i}>{_term_regex(term)})" for i, term in enumerate(terms))
    return re.compile(f"{_WORD_START}(?:{alternatives}){_WORD_END}", re.IGNORECASE)


def _term_regex(term: str) -> str:
    words = term.split(" ")
    regex = _BETWEEN_WORDS.join(_word_regex(word) for word in words)
    if len(words) == 1 and term[-1].isalpha():
        regex += "(?:e?[s5$])?"
    return regex


def _word_regex(word: str) -> str:
    parts: list[str] = []
    # Runs of one letter become one group with a minimum count, so "ass"
    # needs two s's (and "as" stays clean) while "asssss" still matches.
    for char, run in itertools.groupby(word):
        count = len(list(run))
        if not char.isalnum():
            continue  # an apostrophe or hyphen inside a term is just a separator
        cls = _char_class(char)
        parts.append(f"{cls}(?:{_BETWEEN_LETTERS}{cls}){{{count - 1},}}")
    return _BETWEEN_LETTERS.join(parts)


def _char_class(char: str) -> str:
    return "[" + "".join(re.escape(c) for c in _LEET.get(char, char)) + "]"
