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
from annotation.checks.detectors.wordscan import WordScanner, compile_scanner

APOSTROPHES = "'\u2019\u2018\u02bc`"

_Trie = dict[str, "_Trie"]
_END = ""  # key marking that a phrase ends at this node


@functools.lru_cache(maxsize=64)
def compile_phrases(phrases: tuple[str, ...]) -> WordScanner | None:
    """A scanner for ``find_phrases``; ``None`` when there is no phrase."""
    trie: _Trie = {}
    for phrase in phrases:
        node = trie
        for word in filter(None, (_normalize_word(w) for w in phrase.split())):
            node = node.setdefault(word, {})
        if node is not trie:
            node[_END] = {}
    if not trie:
        return None
    ascii_trie = {word: child for word, child in trie.items() if _is_ascii_tree(word, child)}
    return compile_scanner(
        # ASCII text reaches its pattern with all punctuation, apostrophes
        # and commas included, turned into spaces.
        ascii_body=_node_regex(ascii_trie, " ", " +") + r"(?!\w)" if ascii_trie else None,
        text_body=_node_regex(trie, "[" + re.escape(APOSTROPHES) + "]", r",?\s+") + r"(?!\w)",
        first_chars="".join(w[0].lower() + w[0].upper() for w in trie),
    )


def find_phrases(scanner: WordScanner, text: str, kind: str) -> list[Span]:
    return [Span(start, end, kind) for start, end, _ in scanner.scan(text)]


def _normalize_word(word: str) -> str:
    word = word.strip(",").lower()
    for apostrophe in APOSTROPHES:
        word = word.replace(apostrophe, "'")
    return word


def _is_ascii_tree(word: str, node: _Trie) -> bool:
    return word.isascii() and all(_is_ascii_tree(w, child) for w, child in node.items())


def _node_regex(node: _Trie, apostrophe: str, gap: str) -> str:
    # Longest first: a phrase that continues is tried before one that stops.
    alternatives = []
    for word in sorted((w for w in node if w != _END), key=len, reverse=True):
        child = node[word]
        regex = _word_regex(word, apostrophe)
        if any(w != _END for w in child):
            tail = f"{gap}(?:{_node_regex(child, apostrophe, gap)})"
            regex += f"(?:{tail})?" if _END in child else tail
        alternatives.append(regex)
    return "|".join(alternatives)


def _word_regex(word: str, apostrophe: str) -> str:
    parts = []
    for char in word:
        upper = char.upper()
        if char == "'":
            parts.append(apostrophe)
        elif char != upper and len(upper) == 1:
            parts.append(f"[{re.escape(char)}{re.escape(upper)}]")
        else:
            parts.append(re.escape(char))
    return "".join(parts)
