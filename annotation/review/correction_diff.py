"""Corrections as people review them: unchanged text is no correction, and a rewrite reads best
side by side.

The workspace prefills the correction editor with the response, so a form sent untouched carries
the response itself; storing it as a "correction" would teach a fine-tune that the bad answer
was right. A correction counts only when its words differ from the response's.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.safestring import SafeString, mark_safe

from annotation.rendering import DiffOp, render_plain, word_diff

# Above this share of changed words the inline view is mostly red and green: show two columns.
REWRITE_SHARE = 0.5


def words(text: str) -> list[str]:
    return text.split()


def correction_changed(original: str, corrected: str) -> bool:
    """True when the correction's words differ from the original's (spacing alone is no change)."""
    return words(original or "") != words(corrected or "")


@dataclass(frozen=True)
class CorrectionDiff:
    segments: list[tuple[DiffOp, str]]
    changed_words: int
    total_words: int

    @property
    def unchanged(self) -> bool:
        return self.changed_words == 0

    @property
    def changed_share(self) -> float:
        return self.changed_words / self.total_words if self.total_words else 0.0

    @property
    def rewrite(self) -> bool:
        """Most of the text changed: the side-by-side view reads better than the inline one."""
        return self.changed_share > REWRITE_SHARE

    def inline_html(self) -> SafeString:
        return _html(self.segments, keep=("equal", "delete", "insert"))

    def before_html(self) -> SafeString:
        return _html(self.segments, keep=("equal", "delete"))

    def after_html(self) -> SafeString:
        return _html(self.segments, keep=("equal", "insert"))


def correction_diff(original: str, corrected: str) -> CorrectionDiff:
    """The word diff of a correction, with how much of the text it changed."""
    segments = word_diff(original or "", corrected or "")
    changed = sum(len(text.split()) for op, text in segments if op != "equal")
    total = max(len(words(original or "")), len(words(corrected or "")))
    if not correction_changed(original, corrected):
        changed = 0
    return CorrectionDiff(segments=segments, changed_words=changed, total_words=total)


_TAGS = {"equal": "span", "delete": "del", "insert": "ins"}


def _html(segments: list[tuple[DiffOp, str]], *, keep: tuple[DiffOp, ...]) -> SafeString:
    # Every chunk goes through render_plain (escaped, line breaks kept); only our tags wrap it.
    parts = [
        f"<{_TAGS[op]}>{render_plain(text)}</{_TAGS[op]}>" for op, text in segments if op in keep
    ]
    return mark_safe("".join(parts))  # noqa: S308 - each chunk escaped by render_plain
