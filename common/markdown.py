"""The one way Markdown becomes HTML in Once: Python-Markdown, then an allow-list sanitizer.

Never mark the output of `markdown.markdown()` safe anywhere else; call `render_markdown`.
"""

import markdown
import nh3

# Structural and inline elements a report needs. Nothing script-capable (script, style,
# iframe, object, embed, svg, math, form, input…) and no `style` or `on*` attributes.
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl",
    "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol",
    "p", "pre", "s", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "code": {"class"},  # language-xyz from fenced code blocks
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"align"},
    "th": {"align"},
}
# Relative links ("/incidents/4/", "#timeline") stay; any URL with a scheme must use one of these.
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}

# attr_list is deliberately absent: it lets authors write arbitrary attributes.
_EXTENSIONS = ["fenced_code", "tables", "sane_lists", "def_list", "abbr", "footnotes"]


def render_markdown(text: str) -> str:
    """Render user-written Markdown to HTML that is safe to insert into a page."""
    html = markdown.markdown(text or "", extensions=_EXTENSIONS, output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
