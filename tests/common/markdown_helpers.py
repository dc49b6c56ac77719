"""What a reader sees of rendered Markdown: its text, entities decoded, tags gone."""

from __future__ import annotations

from html.parser import HTMLParser

# Elements without an end tag: they don't nest.
VOID = {"br", "hr", "img", "input"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.attributes: list[str] = []
        self.depth = self.max_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attributes.extend(value for _, value in attrs if value)
        if tag not in VOID:
            self.depth += 1
            self.max_depth = max(self.max_depth, self.depth)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


class Page:
    """Rendered Markdown as a reader meets it: its text, its attribute values, how deep it nests."""

    def __init__(self, html: str) -> None:
        parser = _Text()
        parser.feed(html)
        parser.close()
        self.text = "".join(parser.parts)
        self.attributes = parser.attributes
        self.depth = parser.max_depth


def visible_text(html: str) -> str:
    return Page(html).text
