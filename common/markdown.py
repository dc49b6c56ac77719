"""The one way Markdown becomes HTML in Once: Python-Markdown, then an allow-list sanitizer.

Never mark the output of `markdown.markdown()` safe anywhere else; call `render_markdown`.

PRODUCT.md, "One set of rules for every way in": Markdown is rendered in bounded time and
depth whatever it holds; raw HTML typed into a report is shown as text, never silently
dropped; only Markdown makes markup; images load only from Once itself, other images are
shown as links. How each holds here:

- Depth. Block structure (lists, block quotes, definition lists, footnotes, any construct
  that parses its content as blocks) nests at most `MAX_BLOCK_DEPTH` levels. What lies
  deeper is shown as plain text inside the deepest level: a 500-level list is a dozen
  nested lists, then the rest of its dashes as text. Inline markup can't nest deeper than
  Python-Markdown's list of inline patterns (each applies only inside the ones before it).
- Time. Python-Markdown is not linear on every input (runs of `[`, thousands of lines in
  one block, a link per character…). Every step that scans text is charged to a work
  budget of `WORK_PER_CHAR` units per character of the report plus `WORK_BASE`; a render
  that would spend more stops and the report is shown as escaped plain text instead, with
  its paragraphs and line breaks and every character of it. The budget is counted, not
  timed, so the same report always looks the same; `benchmarks/markdown_speed.py` measures
  what it means in seconds. The output can't outgrow the input by more than
  `MAX_OUTPUT_GROWTH` times either (a reference link repeated 50,000 times to a long URL):
  beyond that, plain text too. A text longer than `settings.ONCE_MAX_REPORT_CHARS` (stored
  before the limit existed) is shown as plain text straight away.
- Raw HTML is never passed through: Python-Markdown's raw-HTML block and inline handlers
  are removed, so `<script>` in prose is escaped and shows as typed. Code spans and blocks
  are unaffected.
- Images: an `![alt](src)` whose src is relative, or absolute on `settings.ONCE_BASE_URL`,
  stays an image; any other becomes a link to the src with the alt text (the src itself
  when there is no alt), or just that text inside another link.
- Links people expect (PRODUCT.md, "Writing, duplicates and importing Markdown"): bare URLs
  and e-mail addresses become links (pymdownx.magiclink), `INC-42` links to
  `/incidents/42/` whether or not the reader may see it (the page answers 404 if not, so a
  link says nothing about a restricted incident), `- [ ]` / `- [x]` are task lists with
  disabled checkboxes (pymdownx.tasklist), `~~x~~` is struck through (pymdownx.tilde).
  None of these applies inside code or inside another link.
- Last step, always: nh3 with an allow-list of the tags Markdown makes.
"""

from __future__ import annotations

import bisect
import html
import re
import xml.etree.ElementTree as etree
from typing import Any, cast
from urllib.parse import urlsplit

import markdown
import nh3
from django.conf import settings
from django.urls import reverse
from markdown.blockparser import BlockParser
from markdown.extensions.abbr import AbbrTreeprocessor
from markdown.inlinepatterns import InlineProcessor as InlinePattern
from markdown.inlinepatterns import LinkInlineProcessor
from markdown.treeprocessors import InlineProcessor, Treeprocessor
from markdown.util import AtomicString

# The tags Python-Markdown makes with the extensions below, nothing else: raw HTML never
# reaches nh3 as markup, and the allow-list says so too. Nothing script-capable.
ALLOWED_TAGS = {
    "a", "abbr", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1",
    "h2", "h3", "h4", "h5", "h6", "hr", "img", "input", "li", "ol", "p", "pre", "strong",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "code": {"class"},  # language-xyz from fenced code blocks
    "img": {"src", "alt", "title"},
    "input": {"checked"},  # a task list's box; its type and disabled are forced below
    "ol": {"start"},
    "td": {"align"},
    "th": {"align"},
}
# Relative links ("/incidents/4/", "#timeline") stay; any URL with a scheme must use one of these.
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}

# The only input a page may hold: a task list's checkbox, which can't be ticked there.
FORCED_ATTRIBUTES = {"input": {"type": "checkbox", "disabled": "disabled"}}
ALLOWED_CLASSES = {"li": {"task-list-item"}, "ul": {"task-list"}}

# attr_list is deliberately absent: it lets authors write arbitrary attributes. Extensions
# are named, not passed as instances: some keep state on the instance, and renders may run
# in parallel threads.
_EXTENSIONS = [
    "fenced_code", "tables", "sane_lists", "def_list", "abbr", "footnotes",
    "pymdownx.magiclink", "pymdownx.tasklist", "pymdownx.tilde",
]  # fmt: skip
_EXTENSION_CONFIGS: dict[str, dict[str, Any]] = {
    # Plain links only: no GitHub-style @mentions, #123 or repository shorthands.
    "pymdownx.magiclink": {"hide_protocol": False, "repo_url_shortener": False,
                           "social_url_shortener": False},
    "pymdownx.tasklist": {"custom_checkbox": False, "clickable_checkbox": False},
    # ~~struck~~ only: a single ~ stays a tilde (no subscript).
    "pymdownx.tilde": {"subscript": False},
}  # fmt: skip

MAX_BLOCK_DEPTH = 16
# A link's destination is looked for this far past its `](`: long enough for a dashboard URL.
MAX_LINK_SCAN = 8192
WORK_PER_CHAR = 400
WORK_BASE = 4_000_000
# The unit is about a character scanned by a regular expression. A step of a Python loop
# costs about PYTHON_STEP of them, a call of a block processor or inline pattern CALL.
PYTHON_STEP = 100
CALL = 400
# An element costs this much between its creation and the sanitized page (prettifying,
# serializing, nh3): thousands of table cells or list items are slow even when cheap to parse.
ELEMENT = 1000
MAX_OUTPUT_GROWTH = 20
# Only this many abbreviation definitions are applied (their regex is one alternation).
MAX_ABBREVIATIONS = 64


class _OverBudget(Exception):
    """Rendering would take longer than the budget allows: show plain text instead."""


class _Work:
    """The units of scanning one render may still spend."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def charge(self, units: int) -> None:
        self.left -= units
        if self.left < 0:
            raise _OverBudget


class _BoundedBlockParser(BlockParser):
    """Python-Markdown's block parser with a depth limit and a charge for every block test."""

    def __init__(self, md: markdown.Markdown, work: _Work) -> None:
        super().__init__(md)
        self.work = work
        self.depth = 0

    def parseBlocks(self, parent: etree.Element, blocks: list[str]) -> None:  # noqa: N802
        if self.depth >= MAX_BLOCK_DEPTH:
            # Too deep to nest further: the rest is plain text at this level, all of it.
            self.work.charge(sum(len(block) for block in blocks))
            paragraph = etree.SubElement(parent, "p")
            paragraph.text = AtomicString("\n\n".join(blocks))
            blocks.clear()
            return
        self.depth += 1
        try:
            while blocks:
                # Processors take the first block off the list and put the rest back at
                # the front: each time moves the whole list.
                self.work.charge(len(blocks) // 2)
                for processor in self.blockprocessors:
                    # Each test and run scans the block (often more than once, and each run
                    # puts the rest of the block back): charge its length every time.
                    self.work.charge(len(blocks[0]) + CALL)
                    accepted = processor.test(parent, blocks[0])
                    if accepted and processor.run(parent, blocks) is not False:
                        break
        finally:
            self.depth -= 1


class _BoundedInlineProcessor(InlineProcessor):
    """The inline pass, charging what each pattern scans and each replacement copies."""

    def __init__(self, md: markdown.Markdown, work: _Work) -> None:
        super().__init__(md)
        self.work = work

    # Overrides the name-mangled private method InlineProcessor.__applyPattern, which the
    # base class calls for every pattern at every position it resumes from.
    def _InlineProcessor__applyPattern(  # noqa: N802
        self,
        pattern: Any,
        data: str,
        patternIndex: int,
        startIndex: int = 0,  # noqa: N803
    ) -> tuple[str, bool, int]:
        # Python-Markdown's name-mangled private method, which types-Markdown leaves out.
        apply = InlineProcessor._InlineProcessor__applyPattern  # type: ignore[attr-defined]
        new_data, matched, new_start = apply(self, pattern, data, patternIndex, startIndex)
        if matched:
            # The scan up to the match, then a copy of the whole string with a placeholder.
            self.work.charge(max(new_start - startIndex, 0) + len(new_data) + CALL)
        else:
            self.work.charge(len(data) - startIndex + CALL)
        return new_data, matched, new_start


def _charge_each_match(pattern: Any, work: _Work) -> None:
    """Charge a call for every candidate a pattern examines, accepted or not (200,000 `[`)."""
    handle_match = pattern.handleMatch

    def charged_handle_match(match: re.Match[str], data: str) -> Any:
        work.charge(CALL // 2)
        return handle_match(match, data)

    pattern.handleMatch = charged_handle_match
    search = getattr(pattern, "search", None)
    if search is not None:
        # The emphasis processor pairs delimiters with its own character-by-character search.

        def charged_search(data: str, start: int) -> re.Match[str] | None:
            match = search(data, start)
            scanned = (match.end() if match else len(data)) - start
            work.charge(scanned * PYTHON_STEP // 10 + CALL // 2)
            return match

        pattern.search = charged_search


_BRACKET = re.compile(r"[\[\]]")
_LINK_SPECIAL = re.compile(r"[()'\"]")


class _BracketTable:
    """Where each `[` of a string closes, computed once per string for every link pattern.

    Python-Markdown looks for the `]` closing a `[` by walking the rest of the paragraph
    character by character, for every `[` and for each of six link patterns: 6,000 `[` took
    18 s. One pass with a stack finds every pair at once; the table is kept until the
    string changes (when a pattern matches).
    """

    def __init__(self, work: _Work) -> None:
        self.work = work
        self.data: str | None = None
        self.closing: dict[int, int] = {}

    def close_of(self, data: str, opener: int) -> int | None:
        if data is not self.data:
            self.data = data
            self.closing = {}
            stack: list[int] = []
            count = 0
            for match in _BRACKET.finditer(data):
                count += 1
                if match.group() == "[":
                    stack.append(match.start())
                elif stack:
                    self.closing[stack.pop()] = match.start()
            self.work.charge(len(data) + PYTHON_STEP * count)
        return self.closing.get(opener)


def _bound_link_parsing(
    processor: LinkInlineProcessor, brackets: _BracketTable, work: _Work
) -> None:
    """Give one link processor a table-driven `getText` and a bounded, charged `getLink`.

    `getLink` keeps Python-Markdown's rules but sees at most MAX_LINK_SCAN characters past
    the `](`, and pays for each.
    """
    get_link = processor.getLink

    def get_text(data: str, index: int) -> tuple[str, int, bool]:
        # `index` is just past the `[`; the original returns the text and the index past `]`.
        close = brackets.close_of(data, index - 1)
        if close is None:
            return "", index, False
        return data[index:close], close + 1, True

    def bounded_get_link(data: str, index: int) -> tuple[str, str | None, int, bool]:
        window = data[index : index + MAX_LINK_SCAN]
        # The original walks the window in Python; only its special characters change state.
        specials = len(_LINK_SPECIAL.findall(window))
        work.charge(len(window) + PYTHON_STEP * (specials + 1))
        href, title, end, handled = get_link(window, 0)
        return href, title, index + end, handled

    # Patched on this instance only; mypy refuses any assignment to a method.
    processor.getText = get_text  # type: ignore[method-assign]
    processor.getLink = bounded_get_link  # type: ignore[method-assign]


_BACKTICKS = re.compile(r"`+")


class _BacktickRuns:
    """Python-Markdown's search for the end of a code span, answered from one pass over a string.

    The original walks the rest of the paragraph character by character for every run of
    backticks that has no partner (40,000 of them took minutes). Same answers: the first
    later run of the same length closes the span; failing that, the longest later run if it
    is shorter (its first occurrence).
    """

    def __init__(self, work: _Work) -> None:
        self.work = work
        self.data: str | None = None

    def _index(self, data: str) -> None:
        self.data = data
        self.starts: list[int] = []
        self.lengths: list[int] = []
        for match in _BACKTICKS.finditer(data):
            self.starts.append(match.start())
            self.lengths.append(match.end() - match.start())
        # For each run, the positions of the later runs of each length, and the longest run
        # from it on (first occurrence).
        self.by_length: dict[int, list[int]] = {}
        for position, length in enumerate(self.lengths):
            self.by_length.setdefault(length, []).append(position)
        self.longest_from: list[int] = [0] * (len(self.lengths) + 1)
        self.longest_from[-1] = -1
        for position in range(len(self.lengths) - 1, -1, -1):
            after = self.longest_from[position + 1]
            if after == -1 or self.lengths[position] >= self.lengths[after]:
                self.longest_from[position] = position
            else:
                self.longest_from[position] = after
        self.work.charge(len(data) + PYTHON_STEP * 3 * (len(self.lengths) + 1))

    def find(self, start: int, text: str) -> tuple[int, int | None]:
        if text is not self.data:
            self._index(text)
        self.work.charge(PYTHON_STEP * 8)
        first = bisect.bisect_left(self.starts, start)
        if first == len(self.starts) or self.starts[first] != start:
            return start, None  # not at a run: nothing to pair (the original's max_ticks is 0)
        ticks = self.lengths[first]
        after = start + ticks
        same = self.by_length.get(ticks, [])
        later = bisect.bisect_right(same, first)
        if later < len(same):
            return after, self.starts[same[later]]
        longest = self.longest_from[first + 1]
        if longest != -1 and 0 < self.lengths[longest] < ticks:
            span = self.lengths[longest]
            return after - (ticks - span), self.starts[longest]
        return after + ticks, None  # as the original: past the run by its length again


class _BoundedAbbrTreeprocessor(AbbrTreeprocessor):
    """Abbreviations, at most MAX_ABBREVIATIONS of them, charged for what they scan."""

    def __init__(self, md: markdown.Markdown, abbrs: dict[str, str], work: _Work) -> None:
        super().__init__(md, abbrs)
        self.work = work

    def run(self, root: etree.Element) -> etree.Element | None:
        if not self.abbrs:
            return None
        for extra in list(self.abbrs)[MAX_ABBREVIATIONS:]:
            del self.abbrs[extra]
        text = sum(len(el.text or "") + len(el.tail or "") for el in root.iter())
        # The alternation regex tries each abbreviation at each word, and every tail's
        # position among its siblings is looked up by a linear search.
        siblings = sum(len(el) * len(el) for el in root.iter())
        self.work.charge(text * len(self.abbrs) // 4 + siblings)
        return super().run(root)


class _TreeSize(Treeprocessor):
    """Charge for every element of the tree, and refuse text far larger than the report.

    Registered twice: before the inline pass (what the blocks made) and after it (what the
    inline patterns added), each time charging only the elements new since the last count.
    Text and attribute values are counted too: a reference link repeated 50,000 times to a
    long URL is a few characters of Markdown and gigabytes of HTML.
    """

    def __init__(self, md: markdown.Markdown, work: _Work, output_limit: int) -> None:
        super().__init__(md)
        self.work = work
        self.output_limit = output_limit
        self.counted = 0

    def run(self, root: etree.Element) -> None:
        elements = size = 0
        for el in root.iter():
            elements += 1
            size += len(el.text or "") + len(el.tail or "")
            size += sum(len(value or "") for value in el.attrib.values())
            if size > self.output_limit:
                raise _OverBudget
        self.work.charge(ELEMENT * max(elements - self.counted, 0))
        self.counted = max(elements, self.counted)


def _is_own_url(url: str) -> bool:
    """True when a browser would fetch `url` from Once itself: relative, or on ONCE_BASE_URL."""
    # What a browser parses: the attribute's character references decoded first ("&#x2F;"
    # is "/"), then (WHATWG URL) surrounding C0 controls and spaces stripped, tab and line
    # breaks removed anywhere, and a backslash taken as a slash ("/\evil" is "//evil").
    cleaned = html.unescape(url).strip("".join(map(chr, range(0x21))))
    cleaned = re.sub(r"[\t\n\r]", "", cleaned).replace("\\", "/")
    if not cleaned:
        return False
    try:
        parts = urlsplit(cleaned)
        own = urlsplit(settings.ONCE_BASE_URL)
    except ValueError:
        return False
    if not parts.scheme and not parts.netloc:
        return not cleaned.startswith("//")
    return (parts.scheme.lower(), parts.netloc.lower()) == (own.scheme.lower(), own.netloc.lower())


class _ForeignImagesAsLinks(Treeprocessor):
    """An image from anywhere but Once becomes a link to it: nothing is fetched from elsewhere."""

    def run(self, root: etree.Element) -> None:
        stack: list[tuple[etree.Element, bool]] = [(root, False)]
        while stack:
            element, in_link = stack.pop()
            for child in element:
                if child.tag == "img" and not _is_own_url(child.get("src", "")):
                    src = child.get("src", "")
                    title = child.get("title")
                    label = child.get("alt") or src
                    child.attrib.clear()
                    child.text = AtomicString(label)
                    if in_link:
                        child.tag = "span"  # a link can't hold a link; the outer one stays
                    else:
                        child.tag = "a"
                        child.set("href", src)
                        if title:
                            child.set("title", title)
                stack.append((child, in_link or child.tag == "a"))


class _IncidentReference(InlinePattern):
    """`INC-42` → a link to /incidents/42/, whether or not the reader may see incident 42."""

    ANCESTOR_EXCLUDES = ("a",)  # not inside another link

    def handleMatch(  # type: ignore[override]  # noqa: N802  (Python-Markdown's name)
        self, m: re.Match[str], data: str
    ) -> tuple[etree.Element, int, int]:
        link = etree.Element("a")
        link.set("href", reverse("incident_detail", args=[int(m.group(1))]))
        link.text = AtomicString(m.group(0))
        return link, m.start(0), m.end(0)


# INC-1 to INC-999999999, not part of a longer word or number ("XINC-4", "INC-4-b" is fine).
INCIDENT_REFERENCE = r"(?<![\w-])INC-([1-9][0-9]{0,8})(?![\w])"


class _OnceMarkdown(markdown.Markdown):
    """Python-Markdown with Once's bounds and without raw HTML (see the module docstring)."""

    def __init__(self, work: _Work, output_limit: int) -> None:
        self.work = work
        self.output_limit = output_limit
        super().__init__(
            extensions=_EXTENSIONS, extension_configs=_EXTENSION_CONFIGS, output_format="html"
        )
        # Raw HTML is text: without these two, `<tag>` is escaped like any other character.
        self.preprocessors.deregister("html_block")
        self.inlinePatterns.deregister("html")
        # After links and bare URLs (85), so that a link's own text stays as written.
        self.inlinePatterns.register(
            _IncidentReference(INCIDENT_REFERENCE, self), "incident_reference", 84
        )
        for pattern in self.inlinePatterns:
            _charge_each_match(pattern, work)
        # Instance patches of Python-Markdown internals below: its registries type their items
        # as the base classes, and types-Markdown leaves out private names, hence the ignores.
        self.inlinePatterns["backtick"].find_code_spans = _BacktickRuns(work).find  # type: ignore[attr-defined]
        brackets = _BracketTable(work)
        for name in ("link", "image_link", "reference", "image_reference", "short_reference",
                     "short_image_ref"):  # fmt: skip
            _bound_link_parsing(
                cast(LinkInlineProcessor, self.inlinePatterns[name]), brackets, work
            )
        # Python-Markdown's footnote and abbreviation patterns let `[^...]` run across `[`
        # and line ends, so every unclosed `[^` scanned the rest of the text (quadratic).
        # A footnote or abbreviation name holds neither.
        self.inlinePatterns["footnote"].compiled_re = re.compile(r"\[\^([^\]\[\n]*)\]", re.DOTALL)
        self.parser.blockprocessors["footnote"].RE = re.compile(  # type: ignore[attr-defined]
            r"^[ ]{0,3}\[\^([^\]\[\n]*)\]:[ ]*(.*)$", re.MULTILINE
        )
        self.parser.blockprocessors["abbr"].RE = re.compile(  # type: ignore[attr-defined]
            r"^[*]\[(?P<abbr>[^\\\[\]\n]*)\][ ]?:[ ]*\n?[ ]*(?P<title>.*)$", re.MULTILINE
        )
        abbr = cast(AbbrTreeprocessor, self.treeprocessors["abbr"])
        self.treeprocessors.register(_BoundedAbbrTreeprocessor(self, abbr.abbrs, work), "abbr", 7)
        self.treeprocessors.register(_ForeignImagesAsLinks(self), "foreign_images", -10)
        tree_size = _TreeSize(self, work, output_limit)
        # After the block parser and footnotes (50), before inline (20); then after inline
        # and footnotes (15), before prettify (10), abbreviations (7) and serializing.
        self.treeprocessors.register(tree_size, "blocks_size", 30)
        self.treeprocessors.register(tree_size, "tree_size", 12)
        table = self.parser.blockprocessors["table"]
        build_row = table._build_row  # type: ignore[attr-defined]

        def bounded_build_row(row: str, parent: etree.Element, align: list[str | None]) -> None:
            # Every row gets as many cells as the header has, however short the row is.
            work.charge(ELEMENT * (len(align) + 1))
            build_row(row, parent, align)

        table._build_row = bounded_build_row  # type: ignore[attr-defined]

    def build_parser(self) -> _OnceMarkdown:
        super().build_parser()
        parser = _BoundedBlockParser(self, self.work)
        parser.blockprocessors = self.parser.blockprocessors
        for processor in parser.blockprocessors:
            processor.parser = parser
        self.parser = parser
        inline = _BoundedInlineProcessor(self, self.work)
        self.treeprocessors.register(inline, "inline", 20)
        return self


def plain_text_html(text: str) -> str:
    """The text escaped, a paragraph per blank-line-separated block, its line breaks kept."""
    escaped = html.escape(text.replace("\r\n", "\n").strip("\n"), quote=False)
    escaped = re.sub(r"\n[ \t]*\n\s*", "</p>\n<p>", escaped)
    return "<p>" + escaped.replace("\n", "<br>\n").replace("</p><br>\n<p>", "</p>\n<p>") + "</p>"


def _markup(text: str) -> str:
    if len(text) > settings.ONCE_MAX_REPORT_CHARS:
        return plain_text_html(text)
    work = _Work(WORK_BASE + WORK_PER_CHAR * len(text))
    try:
        return _OnceMarkdown(work, MAX_OUTPUT_GROWTH * len(text) + 100_000).convert(text)
    except (_OverBudget, RecursionError):
        # RecursionError can't happen within MAX_BLOCK_DEPTH; kept so a page never breaks.
        return plain_text_html(text)


def render_markdown(text: str) -> str:
    """Render user-written Markdown to HTML that is safe to insert into a page.

    Bounded in depth (MAX_BLOCK_DEPTH levels) and work (WORK_PER_CHAR per character); past
    either, the text still shows, as plain text. See the module docstring and PRODUCT.md,
    "One set of rules for every way in".
    """
    return nh3.clean(
        _markup(text or ""),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        set_tag_attribute_values=FORCED_ATTRIBUTES,
        allowed_classes=ALLOWED_CLASSES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
