"""Any report up to the size limit renders, in bounded depth and work, with all its text.

PRODUCT.md, "One set of rules for every way in". No test here times anything (CONVENTIONS):
each input is the worst case of its shape at the size limit, so a regression to quadratic
work or unbounded recursion shows as an error or a suite that crawls;
benchmarks/markdown_speed.py measures the seconds.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from common.markdown import MAX_BLOCK_DEPTH, render_markdown
from tests.common.markdown_helpers import Page, visible_text

CASES = Path(__file__).parent / "markdown_cases"
LIMIT = settings.ONCE_MAX_REPORT_CHARS
# Each block level adds at most a list, its item and a paragraph; inline markup a few more.
MAX_HTML_DEPTH = 3 * MAX_BLOCK_DEPTH + 20


def words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z]{3,}", text)


def test_500_nested_list_levels_render_as_nested_lists_then_text() -> None:
    source = (CASES / "nested-list.md").read_text()
    html = render_markdown(source)
    page = Page(html)
    assert "<ul>" in html
    assert page.depth <= MAX_HTML_DEPTH
    assert page.text.count("-") > 400  # the levels beyond the limit, as text


def test_6000_opening_brackets_do_not_stop_a_link_after_them() -> None:
    source = (CASES / "bracket-run.md").read_text() + " see [the runbook](/runbooks/7/)"
    html = render_markdown(source)
    assert visible_text(html).count("[") == 6000
    assert '<a href="/runbooks/7/"' in html  # rendered as Markdown, not given up on


def test_a_report_mentioning_script_and_style_tags_keeps_everything_after_them() -> None:
    source = (CASES / "raw-html-in-prose.md").read_text()
    text = visible_text(render_markdown(source))
    assert "The attacker injected <script> tags into the comment form" in text
    assert "the <style> block of the status page hid the banner." in text
    assert "No customer data was read" in text and "Escape on output." in text
    assert words(text) == words(source)


def nest(open_: str, middle: str, close: str, budget: int = LIMIT) -> str:
    """`open_` n times, `middle`, `close` n times: as deep as fits in `budget` characters."""
    times = (budget - len(middle)) // (len(open_) + len(close))
    return open_ * times + middle + close * times


def indented_list(budget: int = LIMIT) -> str:
    lines, size, level = [], 0, 0
    while size + 4 * level + 12 < budget:
        lines.append("    " * level + f"- level{level}\n")
        size += len(lines[-1])
        level += 1
    return "".join(lines)


DEEP = {
    "list on one line": nest("- ", "needle", ""),
    "ordered list on one line": nest("1. ", "needle", ""),
    "indented list": indented_list() + "needle",
    "block quotes": nest("> ", "needle", ""),
    "block quote markers": nest(">", " needle", ""),
    "quotes in lists in quotes": nest("> - ", "needle", ""),
    "definition lists": "term\n" + nest(": ", "needle", "", LIMIT - 5),
    "list in a footnote": "x[^a]\n\n[^a]: " + nest("- ", "needle", "", LIMIT - 14),
    "emphasis": nest("*_", "needle", "_*"),
    "strong emphasis": nest("**__", "needle", "__**"),
    "unclosed emphasis": nest("*", " needle", ""),
    "brackets": nest("[", "needle", "]"),
    "unclosed brackets": nest("[", "needle", ""),
    "links in link text": nest("[", "needle", "](/a)"),
    "images in image text": nest("![", "needle", "](/a.png)"),
    "link destinations": nest("[a](", "needle", ")"),
    "unclosed link destinations": nest("[a](", "needle", ""),
    "titles never closed": nest('[a](/b "', "needle", ""),
    "backtick runs": "".join("`" * n + " " for n in range(1, 600)) + "needle",
    "unclosed footnote references": nest("[^", "needle", ""),
    "table with a row per character": "|a|b|c|d|e|f|g|h|\n|-|-|-|-|-|-|-|-|\n"
    + "x\n" * (LIMIT // 2 - 40)
    + "needle",
    "reference link to a long address, many times": "[r]: /"
    + "a" * (LIMIT // 2)
    + "\n\n"
    + "[r]" * (LIMIT // 6 - 10)
    + " needle",
    "one paragraph per character": "x\n\n" * (LIMIT // 3 - 3) + "needle",
    "one list item per line": "- x\n" * (LIMIT // 4 - 2) + "needle",
    "fences never closed": "```\n\\" * (LIMIT // 5 - 2) + "needle",
}


@pytest.mark.parametrize("source", DEEP.values(), ids=DEEP.keys())
def test_the_worst_case_of_each_shape_at_the_size_limit_renders_with_its_text(source: str) -> None:
    assert len(source) <= LIMIT
    page = Page(render_markdown(source))
    assert page.depth <= MAX_HTML_DEPTH
    assert "needle" in page.text + " ".join(page.attributes)


def test_a_report_too_costly_to_render_shows_as_plain_text_with_every_character() -> None:
    source = "[](" * (LIMIT // 3)  # a link attempt per character: over the work budget
    html = render_markdown(source)
    assert visible_text(html) == source


def test_text_longer_than_the_limit_shows_as_plain_text(settings: Any) -> None:
    source = "# Title\n\n<script>x</script> **bold**\n\n" + "word " * 100
    settings.ONCE_MAX_REPORT_CHARS = 100
    html = render_markdown(source)
    assert "<h1>" not in html and "<strong>" not in html
    assert visible_text(html).split() == source.split()


WORDS = ["ember", "quartz", "falcon", "harbor", "violet", "tundra"]
HTML_LOOKING = ["<script>", "</script>", "<style>", "<b>", "</div>", "<!--", "-->", '<a href="x">',
                "<img src=x onerror=y>", "<br/>", "<tag>", "</tag>"]  # fmt: skip
MARKDOWNISH = st.sampled_from(
    ["#", "## ", ">", "> ", "-", "- ", "*", "**", "_", "[", "]", "(", ")", "`", "```", "&",
     "\n", "\n\n", "    ", "  ", " ", "1. "] + WORDS + HTML_LOOKING
)  # fmt: skip


def assert_text_after_html_survives(source: str) -> None:
    page = Page(render_markdown(source))
    assert page.depth <= MAX_HTML_DEPTH
    positions = [source.find(token) for token in HTML_LOOKING if token in source]
    if not positions:
        return
    after = source[min(positions) :]
    seen = page.text + "\x00" + "\x00".join(page.attributes)
    for word in set(re.findall("|".join(WORDS), after)):
        assert word in seen, f"{word!r} lost from {source!r}: {page.text!r}"


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.lists(MARKDOWNISH, max_size=80).map("".join))
def test_random_markdown_keeps_every_word_after_html_looking_text(source: str) -> None:
    assert_text_after_html_survives(source)


@hypothesis_settings(max_examples=8, deadline=None)
@given(st.lists(MARKDOWNISH, min_size=1, max_size=40).map("".join).filter(str.strip))
def test_random_markdown_repeated_to_the_size_limit_renders_with_its_words(unit: str) -> None:
    source = (unit * (LIMIT // len(unit) + 1))[:LIMIT]
    assert_text_after_html_survives(source)
