from __future__ import annotations

import html
import itertools
import re
import time
from typing import Any

import pytest
from django.template import Context, Template
from django.utils.safestring import SafeString
from markdown_it import MarkdownIt

from annotation import rendering
from annotation.rendering import (
    highlight_spans,
    render_markdown,
    render_plain,
    render_word_diff,
    word_diff,
)
from tests.xss_payloads import EXFIL_HOST, XSS_PAYLOADS, Payload, dangers, elements, url_scheme

MARKDOWN_TAGS = {
    *("p", "br", "hr", "em", "strong", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a"),
    *("h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td"),
}
MARKDOWN_ATTRIBUTES = {"a": {"href", "title", "rel"}, "code": {"class"}, "ol": {"start"}}
REL = "noopener noreferrer nofollow"

payloads = pytest.mark.parametrize("payload", XSS_PAYLOADS, ids=lambda p: p.name)


def plain_text(rendered: str) -> str:
    """What a reader sees: <br> back to newlines, tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]*>", "", rendered.replace("<br>", "\n")))


def test_the_payload_list_is_large_and_named_uniquely() -> None:
    names = [payload.name for payload in XSS_PAYLOADS]

    assert len(names) >= 30
    assert len(set(names)) == len(names)


def test_the_checker_finds_what_it_is_meant_to_find() -> None:
    # The XSS tests are only as good as this checker: it must see through entities and whitespace.
    assert dangers("<p>fine <a href='https://ok.example'>x</a></p>") == []
    assert dangers("<img src=x onerror=alert(1)>")
    assert dangers('<a href="jav&#x09;ascript:alert(1)">x</a>')
    assert dangers('<a href=" &#106;avascript:alert(1)">x</a>')
    assert dangers('<div hx-get="/x">x</div>')
    assert dangers('<div data-hx-get="/x">x</div>')
    assert url_scheme("\x01 JaVa\nScript:alert(1)") == "javascript"
    assert url_scheme("/relative") is None


# --- render_markdown ---------------------------------------------------------------------------


@payloads
def test_markdown_never_lets_a_payload_run(payload: Payload) -> None:
    rendered = render_markdown(payload.text)

    assert dangers(rendered) == []
    for element in elements(rendered):
        assert element.tag in MARKDOWN_TAGS, element
        for name, value in element.attributes:
            assert name in MARKDOWN_ATTRIBUTES.get(element.tag, set()), element
            if name == "href":
                assert url_scheme(value) in {"http", "https", "mailto"}, element
            if name == "rel":
                assert value == REL
            if name == "class":
                assert re.fullmatch(r"language-[A-Za-z0-9_+#.-]+", value), element


@payloads
def test_markdown_loads_nothing_from_elsewhere(payload: Payload) -> None:
    rendered = render_markdown(payload.text)

    # Links the author wrote stay links (a click is a decision); nothing fetches on its own.
    for element in elements(rendered):
        for name, value in element.attributes:
            if EXFIL_HOST in value:
                assert element.tag == "a" and name == "href" and "leak" not in value, element


@payloads
def test_the_sanitiser_alone_stops_a_payload_even_if_markdown_passed_html_through(
    payload: Payload,
) -> None:
    # Defence in depth: render with raw HTML on, as a future change might, and the final gate
    # (a private detail, tested here on purpose) must still leave nothing that runs.
    unsafe = MarkdownIt("commonmark", {"html": True}).render(payload.text)

    cleaned = rendering._CLEANER.clean(unsafe)

    assert dangers(cleaned) == []
    assert {element.tag for element in elements(cleaned)} <= MARKDOWN_TAGS


def test_markdown_shows_an_image_as_text_not_a_request() -> None:
    rendered = render_markdown(f"See ![the chart](https://{EXFIL_HOST}/leak?q=secret) here")

    assert [element.tag for element in elements(rendered)] == ["p"]
    assert plain_text(rendered) == (
        f"See [image: the chart] https://{EXFIL_HOST}/leak?q=secret here\n"
    )


def test_markdown_shows_an_image_without_alt_text() -> None:
    rendered = render_markdown("![](https://ok.example/a.png)")

    assert plain_text(rendered).strip() == "[image] https://ok.example/a.png"


def test_markdown_renders_the_formatting_guidelines_use() -> None:
    source = (
        "# Labelling\n\n"
        "Mark a response **bad** when it is *wrong* or ~~merely~~ unhelpful.\n\n"
        "> Quote the guideline.\n\n"
        "- one\n- two\n\n"
        "3. three\n4. four\n\n"
        "```python\nprint('hi')\n```\n\n"
        "| field | meaning |\n| --- | --- |\n| verdict | good or bad |\n\n"
        "---\n\n"
        '[Policy](https://docs.example/policy "The policy") or <mailto:lead@example.com>\n'
    )

    rendered = render_markdown(source)

    assert isinstance(rendered, SafeString)
    assert "<h1>Labelling</h1>" in rendered
    assert "<strong>bad</strong>" in rendered and "<em>wrong</em>" in rendered
    assert "<del>merely</del>" in rendered
    assert "<blockquote>" in rendered and "<hr>" in rendered
    assert '<ol start="3">' in rendered
    assert "<code class=\"language-python\">print('hi')" in rendered
    assert "<th>field</th>" in rendered and "<td>good or bad</td>" in rendered
    assert (
        f'<a href="https://docs.example/policy" title="The policy" rel="{REL}">Policy</a>'
        in rendered
    )
    assert f'<a href="mailto:lead@example.com" rel="{REL}">' in rendered


def test_markdown_shows_raw_html_as_text() -> None:
    rendered = render_markdown('<b>bold</b> and <a href="https://ok.example">a link</a>')

    assert [element.tag for element in elements(rendered)] == ["p"]
    assert plain_text(rendered).strip() == '<b>bold</b> and <a href="https://ok.example">a link</a>'


def test_markdown_drops_relative_link_targets() -> None:
    rendered = render_markdown("[log out](/accounts/logout/) [away](//evil.example/x) [top](#top)")

    assert all(
        "href" not in dict(element.attributes)
        for element in elements(rendered)
        if element.tag == "a"
    )
    assert plain_text(rendered).strip() == "log out away top"


def test_markdown_keeps_only_language_classes_on_code() -> None:
    rendered = render_markdown("```js onclick=x\nx\n```\n\n```\ny\n```")

    assert '<code class="language-js">' in rendered
    assert "onclick" not in rendered
    assert "<code>y" in rendered


def test_markdown_of_nothing_is_empty() -> None:
    assert render_markdown("") == ""


# --- render_plain ------------------------------------------------------------------------------


@payloads
def test_plain_text_never_lets_a_payload_run(payload: Payload) -> None:
    rendered = render_plain(payload.text)

    assert dangers(rendered) == []
    assert {element.tag for element in elements(rendered)} <= {"br"}
    assert all(not element.attributes for element in elements(rendered))
    assert plain_text(rendered) == payload.text


def test_plain_text_keeps_every_kind_of_line_break() -> None:
    rendered = render_plain("first <line>\r\nsecond\rthird\n\nfifth")

    assert rendered == "first &lt;line&gt;<br>second<br>third<br><br>fifth"
    assert isinstance(rendered, SafeString)


# --- highlight_spans ---------------------------------------------------------------------------


def assert_only_marks(rendered: str) -> None:
    assert dangers(rendered) == []
    for element in elements(rendered):
        assert element.tag in {"mark", "br"}, element
        if element.tag == "mark":
            attributes = dict(element.attributes)
            assert set(attributes) == {"class", "title"}
            assert re.fullmatch(r"span-[a-z_]+", attributes["class"])
            assert attributes["class"] == f"span-{attributes['title']}"


@payloads
def test_highlighting_never_lets_a_payload_run(payload: Payload) -> None:
    text = payload.text
    half = len(text) // 2
    spans = [
        {"start": 0, "end": half, "kind": payload.text},  # the kind is untrusted too
        {"start": half // 2, "end": len(text), "kind": "pii"},  # overlaps: skipped
        {"start": half + 1, "end": len(text) + 50, "kind": '"><script>alert(1)</script>'},
    ]

    rendered = highlight_spans(text, spans)

    assert_only_marks(rendered)
    assert plain_text(rendered) == text


def test_a_span_wraps_exactly_its_characters() -> None:
    rendered = highlight_spans("call 555-0100 now", [{"start": 5, "end": 13, "kind": "phone"}])

    assert rendered == 'call <mark class="span-phone" title="phone">555-0100</mark> now'


def test_spans_are_placed_in_text_order_and_adjacent_spans_both_show() -> None:
    text = "Ann Lee, ann@example.com"
    spans = [
        {"start": 9, "end": 24, "kind": "email"},
        {"start": 0, "end": 3, "kind": "name"},
        {"start": 3, "end": 7, "kind": "name"},
    ]

    rendered = highlight_spans(text, spans)

    assert rendered == (
        '<mark class="span-name" title="name">Ann</mark>'
        '<mark class="span-name" title="name"> Lee</mark>, '
        '<mark class="span-email" title="email">ann@example.com</mark>'
    )


def test_overlapping_spans_keep_the_first_and_longest() -> None:
    text = "abcdefghij"
    spans = [
        {"start": 2, "end": 6, "kind": "b"},
        {"start": 2, "end": 8, "kind": "a"},  # same start, longer: wins
        {"start": 4, "end": 9, "kind": "c"},  # overlaps the winner: skipped
        {"start": 8, "end": 10, "kind": "d"},
    ]

    rendered = highlight_spans(text, spans)

    assert rendered == (
        'ab<mark class="span-a" title="a">cdefgh</mark><mark class="span-d" title="d">ij</mark>'
    )


def test_spans_outside_the_text_are_clipped_to_it() -> None:
    rendered = highlight_spans(
        "abc", [{"start": -5, "end": 1, "kind": "x"}, {"start": 2, "end": 99, "kind": "y"}]
    )

    assert (
        rendered
        == '<mark class="span-x" title="x">a</mark>b<mark class="span-y" title="y">c</mark>'
    )


@pytest.mark.parametrize(
    "span",
    [
        {"start": 3, "end": 3, "kind": "empty"},
        {"start": 4, "end": 2, "kind": "inverted"},
        {"start": 10, "end": 12, "kind": "beyond"},
        {"start": "1", "end": 2, "kind": "string"},
        {"start": True, "end": 2, "kind": "bool"},
        {"start": None, "end": 2, "kind": "none"},
        {"end": 2, "kind": "missing"},
        {"start": 1.5, "end": 2, "kind": "float"},
    ],
    ids=lambda span: str(span["kind"]),
)
def test_malformed_spans_are_skipped(span: dict[str, object]) -> None:
    assert highlight_spans("a<b>c", [span]) == "a&lt;b&gt;c"


def test_spans_that_are_not_objects_are_skipped() -> None:
    spans: list[Any] = [None, "0-1", [0, 1], {"start": 0, "end": 1, "kind": "ok"}]

    assert highlight_spans("abc", spans) == '<mark class="span-ok" title="ok">a</mark>bc'


@pytest.mark.parametrize(
    ("kind", "css"),
    [
        ("email", "email"),
        ("E-Mail Address", "emailaddress"),
        ("credit_card", "credit_card"),
        ('x" onmouseover="alert(1)', "xonmouseoveralert"),
        ("", "span"),
        ("123", "span"),
        (None, "none"),
    ],
)
def test_span_kinds_are_reduced_to_lowercase_letters_and_underscores(
    kind: object, css: str
) -> None:
    rendered = highlight_spans("abc", [{"start": 0, "end": 1, "kind": kind}])

    assert rendered == f'<mark class="span-{css}" title="{css}">a</mark>bc'


def test_a_span_without_a_kind_is_a_plain_span() -> None:
    assert highlight_spans("abc", [{"start": 0, "end": 1}]) == (
        '<mark class="span-span" title="span">a</mark>bc'
    )


def test_text_inside_and_around_spans_is_escaped_and_keeps_line_breaks() -> None:
    text = "<b>\nsecret@example.com\n</b>"

    rendered = highlight_spans(text, [{"start": 3, "end": 23, "kind": "email"}])

    assert rendered == (
        '&lt;b&gt;<mark class="span-email" title="email"><br>secret@example.com<br></mark>&lt;/b&gt;'
    )


def test_offsets_count_characters_not_bytes() -> None:
    text = "😀 café ann@example.com"
    start = text.index("ann")

    rendered = highlight_spans(text, [{"start": start, "end": len(text), "kind": "email"}])

    assert rendered == '😀 café <mark class="span-email" title="email">ann@example.com</mark>'


def test_no_spans_renders_like_plain_text() -> None:
    text = "line one\nline <two>"

    assert highlight_spans(text, []) == render_plain(text)


# --- word_diff ---------------------------------------------------------------------------------


def assert_rebuilds(old: str, new: str) -> list[tuple[str, str]]:
    segments = word_diff(old, new)
    assert "".join(text for op, text in segments if op != "insert") == old
    assert "".join(text for op, text in segments if op != "delete") == new
    assert all(text for _, text in segments)
    assert all(a[0] != b[0] for a, b in itertools.pairwise(segments))
    return list(segments)


def test_a_changed_word_is_a_delete_then_an_insert() -> None:
    segments = assert_rebuilds(
        "The quick brown fox jumps over the lazy dog.",
        "The quick red fox jumped over the lazy dog!",
    )

    assert segments == [
        ("equal", "The quick "),
        ("delete", "brown"),
        ("insert", "red"),
        ("equal", " fox "),
        ("delete", "jumps"),
        ("insert", "jumped"),
        ("equal", " over the lazy dog"),
        ("delete", "."),
        ("insert", "!"),
    ]


def test_punctuation_changes_do_not_swallow_the_word() -> None:
    assert assert_rebuilds("Hello, world", "Hello world") == [
        ("equal", "Hello"),
        ("delete", ","),
        ("equal", " world"),
    ]


def test_added_and_removed_text_at_the_ends() -> None:
    assert assert_rebuilds("", "new text") == [("insert", "new text")]
    assert assert_rebuilds("old text", "") == [("delete", "old text")]
    assert assert_rebuilds("", "") == []
    assert assert_rebuilds("same\ntext", "same\ntext") == [("equal", "same\ntext")]


def test_frequent_words_still_align() -> None:
    # difflib's autojunk would call "the" noise past 200 tokens and replace the whole middle.
    sentences = ["the cat and the dog "] * 40
    changed = list(sentences)
    changed[5] = "the cat and a dog "
    changed[30] = "the bird and the dog "

    segments = assert_rebuilds("".join(sentences), "".join(changed))

    assert [(op, text) for op, text in segments if op != "equal"] == [
        ("delete", "the"),
        ("insert", "a"),
        ("delete", "cat"),
        ("insert", "bird"),
    ]


def test_edits_far_apart_in_a_long_paragraph_are_each_shown_as_words() -> None:
    old = " ".join(f"Rule {n} says the answer is bad when the source is wrong." for n in range(100))
    new = old.replace("Rule 10 says the", "Rule 10 says an").replace(
        "Rule 90 says the answer is bad", "Rule 90 says the answer is poor"
    )

    segments = assert_rebuilds(old, new)

    assert [(op, text) for op, text in segments if op != "equal"] == [
        ("delete", "the"),
        ("insert", "an"),
        ("delete", "bad"),
        ("insert", "poor"),
    ]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # Degenerate generations repeat a few words thousands of times: difflib's worst case.
        (
            " ".join(["sorry", "I", "cannot", "help", "with", "that"] * 600),
            " ".join(["sorry", "I", "can", "help", "with", "this"] * 600),
        ),
        (
            " ".join([f"w{n}" for n in range(60)] * 40),
            " ".join([*[f"w{n}" for n in range(30)], "X", *[f"w{n}" for n in range(31, 60)]] * 40),
        ),
        ("I am sorry, I cannot help with that.\n" * 30_000, "I can help.\n" * 30_000),
        ("x " * 200_000, "y " * 200_000),
    ],
    ids=["repeating", "periodic", "many-lines", "huge"],
)
def test_pathological_texts_are_diffed_quickly(old: str, new: str) -> None:
    started = time.perf_counter()
    assert_rebuilds(old, new)

    assert time.perf_counter() - started < 2


def test_an_edit_in_a_long_guideline_stays_local() -> None:
    paragraphs = [f"Rule {n}: label the response bad when it is wrong.\n" for n in range(400)]
    edited = list(paragraphs)
    edited[200] = "Rule 200: label the response bad when it is wrong or unsafe.\n"

    segments = assert_rebuilds("".join(paragraphs), "".join(edited))

    assert [(op, text) for op, text in segments if op != "equal"] == [
        ("insert", " or unsafe"),
    ]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("a b c", "a  b c d"),
        ("line one\nline two\n", "line one\nline 2\nline three\n"),
        ("Ünïcode wörds — ok", "Ünïcode words — ok!"),
        ("tabs\tand  spaces", "tabs and\tspaces"),
        ("x" * 50, "y" * 50),
    ],
)
def test_the_segments_rebuild_both_texts(old: str, new: str) -> None:
    assert_rebuilds(old, new)


@payloads
def test_a_rendered_diff_never_lets_a_payload_run(payload: Payload) -> None:
    old, new = f"Before {payload.text} after", f"Before {payload.text[::-1]} after, {payload.text}"
    assert_rebuilds(old, new)

    rendered = render_word_diff(old, new)

    assert dangers(rendered) == []
    for element in elements(rendered):
        assert element.tag in {"ins", "del", "br"}, element
        assert not element.attributes


def test_a_rendered_diff_marks_changes_and_escapes_them() -> None:
    rendered = render_word_diff("say <b>hi</b>\nnow", "say <i>hi</i>\nnow")

    assert rendered == (
        "say &lt;<del>b</del><ins>i</ins>&gt;hi&lt;/<del>b</del><ins>i</ins>&gt;<br>now"
    )
    assert isinstance(rendered, SafeString)


# --- in templates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["{{ 7*7 }}", "{% debug %}", "{{ settings.SECRET_KEY }}{% load static %}"]
)
@pytest.mark.parametrize(
    "render",
    [render_markdown, render_plain, lambda text: highlight_spans(text, [{"start": 0, "end": 3}])],
    ids=["markdown", "plain", "highlight"],
)
def test_template_syntax_in_text_is_shown_not_evaluated(text: str, render: object) -> None:
    assert callable(render)
    page = Template("<div>{{ content }}</div>").render(Context({"content": render(text)}))

    assert plain_text(page).strip() == text
