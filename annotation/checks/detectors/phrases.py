"""Find any of a set of phrases as whole words, case-insensitively, fast.

Phrases are compiled into one regex shaped like a trie of their words
("I can't ...", "I cannot ...", "I am ..." share "I"), with every letter
spelled as an explicit ``[xX]`` class instead of using IGNORECASE. That keeps
each alternative starting with a plain class, which the regex engine tests
before entering it, so clean text is rejected after one or two character
tests per word.
"""

from __future__ import annotations

import functools
import re

from annotation.checks.detectors.spans import Span

APOSTROPHES = "'\u2019\u2018\u02bc`"
_APOSTROPHE_CLASS = "[" + re.escape(APOSTROPHES) + "]"
# The non-word character before a whole word, consumed so a pattern can start
# with it (callers search " " + text, so text start has one too). The ASCII
# class comes first because the regex engine skips through text with a
# plain class in C, while Unicode-aware [\W_] costs a category lookup per
# character; the lookbehind then rejects non-ASCII letters.
SEPARATOR = r"[^A-Za-z0-9](?<=[\W_])"
# Between words: any whitespace, after an optional comma ("I'm sorry but").
_GAP = r",?\s+"

_Trie = dict[str, "_Trie"]
_END = ""  # key marking that a phrase ends at this node


@functools.lru_cache(maxsize=64)
def compile_phrases(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    """A regex for ``find_phrases``; ``None`` when there is no phrase."""
    trie: _Trie = {}
    for phrase in phrases:
        words = [_normalize_word(w) for w in phrase.split()]
        node = trie
        for word in filter(None, words):
            node = node.setdefault(word, {})
        if node is not trie:
            node[_END] = {}
    if not trie:
        return None
    # The match starts at the non-word character before the phrase; callers
    # search " " + text so a phrase at the very start has one too.
    first = "".join(sorted({c for w in trie for c in (w[0].lower(), w[0].upper())}))
    return re.compile(rf"{SEPARATOR}(?=[{re.escape(first)}])(?:{_node_regex(trie)})(?!\w)")


def find_phrases(pattern: re.Pattern[str], text: str, kind: str) -> list[Span]:
    # In " " + text, the separator the match starts with sits one character
    # before the phrase: so m.start() is already the phrase's offset in text.
    return [Span(m.start(), m.end() - 1, kind) for m in pattern.finditer(" " + text)]


def _normalize_word(word: str) -> str:
    word = word.strip(",").lower()
    for apostrophe in APOSTROPHES:
        word = word.replace(apostrophe, "'")
    return word


def _node_regex(node: _Trie) -> str:
    # Longest first: a phrase that continues is tried before one that stops.
    children = sorted((w for w in node if w != _END), key=len, reverse=True)
    alternatives = []
    for word in children:
        child = node[word]
        rest = [w for w in child if w != _END]
        regex = _word_regex(word)
        if rest:
            tail = f"{_GAP}(?:{_node_regex(child)})"
            regex += f"(?:{tail})?" if _END in child else tail
        alternatives.append(regex)
    return "|".join(alternatives)


def _word_regex(word: str) -> str:
    parts = []
    for char in word:
        if char == "'":
            parts.append(_APOSTROPHE_CLASS)
        elif char.lower() != char.upper() and len(char.upper()) == 1:
            parts.append(f"[{re.escape(char.lower())}{re.escape(char.upper())}]")
        else:
            parts.append(re.escape(char))
    return "".join(parts)
