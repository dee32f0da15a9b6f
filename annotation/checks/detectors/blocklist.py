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
    ascii_trie: _Trie = {}
    text_trie: _Trie = {}
    for index, term in enumerate(terms):
        tokens = [(char, len(list(run))) for char, run in itertools.groupby(term)]
        _insert(text_trie, tokens, index, term)
        if term.isascii():
            _insert(ascii_trie, tokens, index, term)
    return compile_scanner(
        ascii_body=_regex(ascii_trie, _ASCII_GAPS) if ascii_trie else None,
        text_body=_regex(text_trie, _TEXT_GAPS),
        first_chars="".join(_letter_chars(term[0]) for term in terms),
        keep=_LEET_PUNCTUATION,
    )


# The terms share one trie of (character, run length) tokens, turned into
# one regex where every alternative opens with a plain character class: the
# regex engine tests that class before entering the alternative, so a word
# that starts like no term costs one or two class tests. "idiot" and
# "imbecile" share their first "i", "dumb" and "dumbass" share "dumb".
_Token = tuple[str, int]
_Trie = dict[_Token, "_Trie"]
_TERMINAL = ("", 0)  # child key holding, as its only key, the term's index


def _insert(trie: _Trie, tokens: list[_Token], index: int, term: str) -> None:
    node = trie
    for token in tokens:
        node = node.setdefault(token, {})
    # A plural "s" is allowed after single-word terms that end in a letter.
    node[_TERMINAL] = {(str(index), int(" " not in term and term[-1].isalpha())): {}}


def _regex(trie: _Trie, gaps: tuple[str, str]) -> str:
    return f"(?:{_node_regex(trie, gaps, after_letter=False)}){_WORD_END}"


def _node_regex(node: _Trie, gaps: tuple[str, str], *, after_letter: bool) -> str:
    between_letters, between_words = gaps
    letters, words, ends = [], [], []
    for (char, count), child in node.items():
        if (char, count) == _TERMINAL:
            ((index, plural),) = child
            ends.append(f"(?P<t{index}>){_PLURAL if plural else ''}")
        elif char == " ":
            words.append(between_words + _node_regex(child, gaps, after_letter=False))
        else:
            cls = _char_class(_letter_chars(char))
            # A run of one letter needs its count, so "ass" needs two s's (and
            # "as" stays clean) while "asssss" still matches; the maximum keeps
            # the worst case linear on inputs like "!!!!!!!!".
            repeat = f"(?:{between_letters}{cls}){{{count - 1},{count + _MAX_EXTRA_REPEATS}}}"
            letters.append(cls + repeat + _node_regex(child, gaps, after_letter=True))
    alternatives = []
    if letters:
        lead = between_letters if after_letter else ""
        alternatives.append(f"{lead}(?:{'|'.join(letters)})")
    alternatives += words + ends  # longer continuations first
    return alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"


def _letter_chars(char: str) -> str:
    upper = char.upper()
    return _LEET.get(char, char) + (upper if len(upper) == 1 else "")


def _char_class(chars: str) -> str:
    return "[" + "".join(re.escape(c) for c in sorted(set(chars))) + "]"
