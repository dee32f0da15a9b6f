"""Whole-word regex scanning with a fast path for ASCII text.

Python's regex engine skips through text quickly (memchr) only to a literal
first character. A whole-word pattern has to start at "the non-word character
before the word", a class the engine tests character by character, which on
an 800-character response costs more than the rest of the match attempts.
So ASCII text (nearly every response) is first mapped with ``bytes.translate``
(well under a microsecond) so that every separator becomes a space, and the
ASCII pattern starts with the literal " ". Other text takes the general path.

Both paths search the text with a space prepended, so a word at the very
start has a separator too; the match begins at that separator, which is
exactly one character before the word, so ``m.start()`` in the padded text
is the word's offset in the original text and ``m.end() - 1`` its end.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WordScanner:
    ascii_pattern: re.Pattern[bytes] | None
    text_pattern: re.Pattern[str]
    table: bytes

    def scan(self, text: str) -> list[tuple[int, int, str | None]]:
        """``(start, end, lastgroup)`` of each match, offsets into ``text``."""
        if text.isascii():
            if self.ascii_pattern is None:
                return []
            data = b" " + text.encode("ascii").translate(self.table)
            return [
                (m.start(), m.end() - 1, m.lastgroup) for m in self.ascii_pattern.finditer(data)
            ]
        return [
            (m.start(), m.end() - 1, m.lastgroup) for m in self.text_pattern.finditer(" " + text)
        ]


def compile_scanner(
    *, ascii_body: str | None, text_body: str, first_chars: str, keep: str = ""
) -> WordScanner:
    """Compile a scanner for words matched by ``*_body``.

    The bodies match from a word's first character; ``first_chars`` are all
    characters a match can start with. ``keep`` are punctuation characters
    that can be part of a word (leetspeak "@" or "$"): they are not turned
    into spaces and do not count as the separator before a word.
    ``ascii_body`` must be ASCII and see separators as spaces; ``None`` when
    no word can occur in ASCII text.
    """
    first = char_class(first_chars)
    table = bytes(
        b if b >= 128 or chr(b).isalnum() or chr(b) in keep else ord(" ") for b in range(256)
    )
    ascii_pattern = (
        re.compile(f" (?={char_class(first_chars, ascii_only=True)})(?:{ascii_body})".encode())
        if ascii_body is not None
        else None
    )
    # The cheap ASCII class first, then the Unicode-aware check, which only
    # runs where the cheap one matched.
    not_word = "[^A-Za-z0-9" + re.escape(keep) + "]"
    text_pattern = re.compile(f"{not_word}(?={first})(?<=[\\W_])(?:{text_body})")
    return WordScanner(ascii_pattern, text_pattern, table)


def char_class(chars: str, *, ascii_only: bool = False) -> str:
    chars = "".join(sorted({c for c in chars if c.isascii() or not ascii_only}))
    return f"[{re.escape(chars)}]"


# Punctuation that can sit between the letters of an obfuscated word.
PUNCTUATION = string.punctuation + "\u00a0\u00b7\u2010\u2011\u2012\u2013\u2014\u2022\u2026"
