"""Whole-word, obfuscation-tolerant term matching: ``Blocklist``."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from annotation.checks.detectors.spans import Span
from annotation.checks.detectors.wordscan import (
    PUNCTUATION,
    WordScanner,
    char_class,
    compile_scanner,
)

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
_PLURAL = "(?:[eE]?[sS5$])?"
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
    ascii_trie, text_trie = _Node(), _Node()
    for index, term in enumerate(terms):
        tokens = [(char, len(list(run))) for char, run in itertools.groupby(term)]
        # A plural "s" is allowed after single-word terms that end in a letter.
        ending = (index, " " not in term and term[-1].isalpha())
        text_trie.insert(tokens, ending)
        if term.isascii():
            ascii_trie.insert(tokens, ending)
    return compile_scanner(
        ascii_body=ascii_trie.regex(_ASCII_GAPS) if ascii_trie.children else None,
        text_body=text_trie.regex(_TEXT_GAPS),
        first_chars="".join(_letter_chars(term[0]) for term in terms),
        keep=_LEET_PUNCTUATION,
    )


_Token = tuple[str, int]  # a character (" " between words) and how often it repeats


@dataclass(slots=True)
class _Node:
    """A trie of the terms' tokens, turned into one regex.

    Every alternative in the regex opens with a plain character class, which
    the regex engine tests before entering the alternative, so a word that
    starts like no term costs one or two class tests. "idiot" and "imbecile"
    share their first "i"; "dumb" and "dumbass" share "dumb".
    """

    children: dict[_Token, _Node] = field(default_factory=dict)
    ending: tuple[int, bool] | None = None  # (term index, plural allowed)

    def insert(self, tokens: list[_Token], ending: tuple[int, bool]) -> None:
        node = self
        for token in tokens:
            node = node.children.setdefault(token, _Node())
        node.ending = ending

    def regex(self, gaps: tuple[str, str]) -> str:
        return f"(?:{self._regex(gaps, after_letter=False)}){_WORD_END}"

    def _regex(self, gaps: tuple[str, str], *, after_letter: bool) -> str:
        between_letters, between_words = gaps
        letters, words = [], []
        for (char, count), child in self.children.items():
            if char == " ":
                words.append(between_words + child._regex(gaps, after_letter=False))
                continue
            cls = char_class(_letter_chars(char))
            # A run of one letter needs its count, so "ass" needs two s's
            # ("as" stays clean) while "asssss" still matches; the maximum
            # keeps the worst case linear on inputs like "!!!!!!!!".
            if after_letter:
                repeat = f"(?:{between_letters}{cls}){{{count - 1},{count + _MAX_EXTRA_REPEATS}}}"
            else:
                # A word's first letter stretches only without separators: otherwise a
                # one-letter word before the term joins it ("That's stupid" would match
                # "s stupid", as the apostrophe is a separator, and "I'm moron" "m moron").
                repeat = (
                    f"(?:{between_letters}{cls}){{{count - 1}}}{cls}{{0,{_MAX_EXTRA_REPEATS + 1}}}"
                )
            letters.append(cls + repeat + child._regex(gaps, after_letter=True))
        # Longer continuations first, so "dumbass" wins over "dumb".
        alternatives = []
        if letters:
            lead = between_letters if after_letter else ""
            alternatives.append(f"{lead}(?:{'|'.join(letters)})")
        alternatives += words
        if self.ending is not None:
            # The empty named group tells find_terms which term matched.
            index, plural = self.ending
            alternatives.append(f"(?P<t{index}>){_PLURAL if plural else ''}")
        return alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"


def _letter_chars(char: str) -> str:
    upper = char.upper()
    return _LEET.get(char, char) + (upper if len(upper) == 1 else "")
