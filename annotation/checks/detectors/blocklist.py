"""Whole-word, obfuscation-tolerant term matching: ``Blocklist``."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable

from annotation.checks.detectors.spans import Span
from annotation.checks.detectors.wordscan import PUNCTUATION, WordScanner, compile_scanner

DEFAULT_TOXICITY_TERMS: tuple[str, ...] = (
    "idiot",
    "stupid",
    "moron",
    "dumb",
    "dumbass",
    "loser",
    "imbecile",
    "cretin",
    "dimwit",
    "halfwit",
    "nitwit",
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
# Leetspeak characters that are punctuation: part of a word, not a separator.
_LEET_PUNCTUATION = "@$!|"
_SEPARATORS = "".join(c for c in PUNCTUATION if c not in _LEET_PUNCTUATION)
# Inserted between the letters of one word ("i.d.i.o.t", "i d i o t"), and
# between the words of a multi-word term (may be empty: "shutup"). The ASCII
# path sees every separator as a space.
_TEXT_GAPS = (f"[\\s{re.escape(_SEPARATORS)}]{{0,2}}", f"[\\s{re.escape(_SEPARATORS)}]{{0,3}}")
_ASCII_GAPS = (" {0,2}", " {0,3}")
_MAX_EXTRA_REPEATS = 24
_PLURAL = "(?:e?[s5$])?"
# Whole word: no letter or digit directly after the match.
_WORD_END = r"(?![^\W_])"


class Blocklist:
    """A compiled set of terms to find as whole words, case-insensitively.

    Tolerates leetspeak ("1d10t"), separators between letters ("i-d-i-o-t",
    "i d i o t") and stretched letters ("idiooot"); single-word terms also
    match their plural ("idiots"). Offsets refer to the original text.
    """

    __slots__ = ("_scanner", "terms")

    def __init__(self, terms: Iterable[str]) -> None:
        normalized = {_normalize(t) for t in terms}
        normalized.discard("")
        # Longest first, so "kill yourself" wins over a shorter overlapping term.
        self.terms: tuple[str, ...] = tuple(sorted(normalized, key=lambda t: (-len(t), t)))
        self._scanner = _compile(self.terms)

    def __repr__(self) -> str:
        return f"Blocklist({list(self.terms)!r})"

    def find(self, text: str) -> list[Span]:
        """Spans (kind ``"blocklist"``) of every term occurrence, sorted by start."""
        if self._scanner is None:
            return []
        return [Span(start, end, "blocklist") for start, end, _ in self._scanner.scan(text)]

    def find_terms(self, text: str) -> list[tuple[Span, str]]:
        """Like ``find``, paired with the blocklisted term each span matched."""
        if self._scanner is None:
            return []
        return [
            (Span(start, end, "blocklist"), self.terms[int(str(group)[1:])])
            for start, end, group in self._scanner.scan(text)
        ]


def _normalize(term: str) -> str:
    # Punctuation inside a term ("a-hole") is treated like any inserted
    # separator; leading and trailing punctuation is dropped.
    words = ("".join(c for c in word if c.isalnum()) for word in term.lower().split())
    return " ".join(w for w in words if w)


@functools.lru_cache(maxsize=128)
def _compile(terms: tuple[str, ...]) -> WordScanner | None:
    if not terms:
        return None
    # Terms are grouped by the characters that can stand for their first
    # letter, and each group opens with that class: the regex engine tests it
    # before entering the group, so most words are rejected after one test.
    first_chars = {term: _LEET.get(term[0], term[0]) + term[0].upper() for term in terms}
    return compile_scanner(
        ascii_body=_alternatives(
            [(i, t) for i, t in enumerate(terms) if t.isascii()], first_chars, _ASCII_GAPS
        ),
        text_body=_alternatives(list(enumerate(terms)), first_chars, _TEXT_GAPS),
        first_chars="".join(first_chars.values()),
        keep=_LEET_PUNCTUATION,
    )


def _alternatives(
    terms: list[tuple[int, str]], first_chars: dict[str, str], gaps: tuple[str, str]
) -> str | None:
    if not terms:
        return None
    groups: dict[str, list[str]] = {}
    for index, term in terms:
        groups.setdefault(first_chars[term], []).append(f"(?P<t{index}>{_tail(term, gaps)})")
    body = "|".join(f"{_char_class(first)}(?i:{'|'.join(tails)})" for first, tails in groups.items())
    return f"(?:{body}){_WORD_END}"


def _tail(term: str, gaps: tuple[str, str]) -> str:
    """A regex for the term after its first character."""
    between_letters, between_words = gaps
    runs = [(char, len(list(run))) for char, run in itertools.groupby(term)]
    parts: list[str] = []
    for i, (char, count) in enumerate(runs):
        if char == " ":
            parts.append(between_words)
            continue
        cls = _char_class(_LEET.get(char, char))
        if i > 0 and runs[i - 1][0] != " ":
            parts.append(between_letters)
        # A run of one letter is one group with a minimum count, so "ass"
        # needs two s's ("as" stays clean) while "asssss" still matches; the
        # maximum keeps the worst case linear on inputs like "!!!!!!!!".
        repeat = f"(?:{between_letters}{cls}){{{count - 1},{count + _MAX_EXTRA_REPEATS}}}"
        parts.append(repeat if i == 0 else cls + repeat)
    if " " not in term and term[-1].isalpha():
        parts.append(_PLURAL)
    return "".join(parts)


def _char_class(chars: str) -> str:
    return "[" + "".join(re.escape(c) for c in sorted(set(chars))) + "]"
