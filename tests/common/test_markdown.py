"""The one Markdown renderer: never script-capable output, raw HTML shown as text, only
Once's own images (PRODUCT.md, "One set of rules for every way in")."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.markdown import ALLOWED_URL_SCHEMES, render_markdown
from tests.common.markdown_helpers import visible_text

SCRIPT_CAPABLE = {"script", "iframe", "object", "embed", "svg", "math", "style", "form",
                  "input", "button", "base", "link", "meta", "frame", "frameset", "applet",
                  "template", "textarea", "select", "video", "audio", "source"}  # fmt: skip
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "background", "poster"}


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_safe(html: str) -> None:
    parser = _Collector()
    parser.feed(html)
    for tag, attrs in parser.tags:
        if tag == "input":
            # A task list's box, which can't be ticked or typed in: nothing else.
            assert {name for name, _ in attrs} <= {"type", "disabled", "checked"}, html
            assert ("type", "checkbox") in attrs and ("disabled", "disabled") in attrs, html
            continue
        assert tag not in SCRIPT_CAPABLE, f"<{tag}> in {html!r}"
        for name, value in attrs:
            assert not name.startswith("on"), f"{name}= in {html!r}"
            assert name != "style", f"style= in {html!r}"
            if name in URL_ATTRIBUTES and value:
                # What a browser parses (WHATWG URL): surrounding C0 controls and spaces are
                # stripped, and tab, CR and LF are removed from anywhere inside.
                cleaned = value.strip("".join(map(chr, range(0x21)))).lower()
                cleaned = cleaned.replace("\t", "").replace("\n", "").replace("\r", "")
                scheme = urlsplit(cleaned).scheme
                assert scheme in ALLOWED_URL_SCHEMES or scheme == "", f"{value!r} in {html!r}"


XSS_VECTORS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<img src="javascript:alert(1)">',
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<iframe src="https://evil.example"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<div style="width: expression(alert(1))">x</div>',
    "<body onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))",
    "[click](&#x6A;avascript:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click][ref]\n\n[ref]: javascript:alert(1)",
    "[click][ref]\n\n[ref]: vbscript:msgbox(1)",
    "![x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](data:text/html,<script>alert(1)</script>)",
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="java&#9;script:alert(1)">x</a>',
    '<a href=" &#14; javascript:alert(1)">x</a>',
    "<object data=javascript:alert(1)></object>",
    "<embed src=javascript:alert(1)>",
    '<form action="javascript:alert(1)"><button>x</button></form>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",  # noqa: E501
    "<details open ontoggle=alert(1)>",
    '<a href="https://ok.example" onmouseover="alert(1)">x</a>',
    "<<script>script>alert(1)<</script>/script>",
    "<input autofocus onfocus=alert(1)>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    "`<script>alert(1)</script>` and ```\n<script>alert(1)</script>\n```",
    '<img src="x` `<script>alert(1)</script>"` `>',
]


@pytest.mark.parametrize("source", XSS_VECTORS)
def test_known_xss_vectors_are_neutralised(source: str) -> None:
    assert_safe(render_markdown(source))


def test_code_blocks_show_script_as_text() -> None:
    html = render_markdown("```\n<script>alert(1)</script>\n```")
    assert "&lt;script&gt;" in html
    assert "<script" not in html


def test_ordinary_markdown_survives() -> None:
    html = render_markdown(
        "## Impact\n\n**Bold** and [a link](https://example.com) and [local](/incidents/4/)\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n- [mail](mailto:ops@example.com)"
    )
    assert "<h2>Impact</h2>" in html
    assert "<strong>Bold</strong>" in html
    assert 'href="https://example.com"' in html
    assert 'href="/incidents/4/"' in html
    assert 'href="mailto:ops@example.com"' in html
    assert "<table>" in html
    assert 'rel="noopener noreferrer nofollow"' in html


METACHARACTERS = st.sampled_from(
    list("<>\"'`=&#;:/()[]!*_\\\n\t ")
    + ["javascript:", "JaVaScRiPt:", "vbscript:", "data:", "on", "onerror", "onload", "script",
       "img", "svg", "iframe", "style", "href", "src", "&#106;", "&#x6A;", "](", "![", "[x]: ",
       "<a ", "</", "```", "    ", "alert(1)", "http://", "mailto:", "expression("]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(METACHARACTERS, max_size=40).map("".join))
def test_random_markup_never_yields_script_capable_output(source: str) -> None:
    assert_safe(render_markdown(source))


def test_a_script_tag_in_prose_shows_as_typed() -> None:
    html = render_markdown("<script>alert(1)</script>")
    assert "<script" not in html
    assert visible_text(html).strip() == "<script>alert(1)</script>"


def test_raw_html_of_any_kind_is_text_not_markup() -> None:
    source = '<div class="x">A</div>\n\n<b>bold?</b> <!-- a comment --> <details>D</details>'
    html = render_markdown(source)
    assert "<div class" not in html and "<b>" not in html and "<details>" not in html
    assert visible_text(html).split() == [
        "<div",
        'class="x">A</div>',
        "<b>bold?</b>",
        "<!--",
        "a",
        "comment",
        "-->",
        "<details>D</details>",
    ]


def test_inline_code_and_code_blocks_still_show_html_as_code() -> None:
    html = render_markdown("Use `<br>` here.\n\n```html\n<p>hi</p>\n```\n\n    <em>indented</em>")
    assert "<code>&lt;br&gt;</code>" in html
    assert '<code class="language-html">&lt;p&gt;hi&lt;/p&gt;' in html
    assert "<pre><code>&lt;em&gt;indented&lt;/em&gt;" in html


def test_markdown_still_makes_its_markup() -> None:
    html = render_markdown(
        "# T\n\n> quoted *em* **strong**\n\n1. one\n2. two\n\n<https://example.com/a>\n\n"
        "Term\n: Definition\n\nNote[^1].\n\n[^1]: The footnote.\n\n---"
    )
    for fragment in ("<h1>T</h1>", "<blockquote>", "<em>em</em>", "<strong>strong</strong>", "<ol>",
                     '<a href="https://example.com/a"', "<dl>", "<dd>Definition</dd>", "The footnote.",
                     "<hr>"):  # fmt: skip
        assert fragment in html


@pytest.mark.parametrize("src", ["/media/diagram.png", "diagram.png", "../img/x.png",
                                 "https://once.example.com/media/x.png"])  # fmt: skip
def test_an_image_from_once_itself_stays_an_image(src: str, settings: Any) -> None:
    settings.ONCE_BASE_URL = "https://once.example.com"
    html = render_markdown(f"![the diagram]({src})")
    assert f'<img alt="the diagram" src="{src}">' in html


@pytest.mark.parametrize(
    "src",
    ["https://evil.example/x.png", "http://evil.example/x.png", "//evil.example/x.png",
     "/\\evil.example/x.png", "https://once.example.com:8443/x.png", "http://once.example.com/x.png",
     " https://evil.example/x.png"],
)  # fmt: skip
def test_an_image_from_elsewhere_is_a_link_to_it(src: str, settings: Any) -> None:
    settings.ONCE_BASE_URL = "https://once.example.com"
    html = render_markdown(f"See ![the graph]({src}) here.")
    assert "<img" not in html
    assert ">the graph</a>" in html
    assert visible_text(html).split() == ["See", "the", "graph", "here."]


def test_an_image_with_a_data_or_script_url_shows_its_alt_text_and_loads_nothing() -> None:
    for src in ("data:image/png;base64,iVBORw0KGgo=", "javascript:alert(1)"):
        html = render_markdown(f"![pixel]({src})")
        assert "<img" not in html and "data:" not in html and "javascript:" not in html
        assert visible_text(html).strip() == "pixel"
        assert_safe(html)


def test_an_image_without_alt_text_shows_its_address() -> None:
    html = render_markdown("![](https://evil.example/x.png)")
    assert '<a href="https://evil.example/x.png"' in html
    assert visible_text(html).strip() == "https://evil.example/x.png"


def test_a_foreign_image_inside_a_link_keeps_the_link_and_shows_the_alt_text() -> None:
    html = render_markdown("[![badge](https://ci.example/b.svg)](https://ci.example/build/1)")
    assert "<img" not in html
    assert '<a href="https://ci.example/build/1"' in html
    assert visible_text(html).strip() == "badge"


def test_reference_style_foreign_images_are_links_too() -> None:
    html = render_markdown("![chart][c] and ![c]\n\n[c]: https://evil.example/c.png")
    assert "<img" not in html
    assert html.count('href="https://evil.example/c.png"') == 2
