"""Where a report's text goes on the incident page: what happened, then what was learned.

The incident page reads like a good postmortem (PRODUCT.md, "Writing, duplicates and importing
Markdown": each thing once): the summary, the story the form has no field for (impact,
detection, resolution), the timeline, the causes, the remediations, and last the reflection
(what went well or wrong, where we got lucky, lessons learned). The report's text is split at
its first reflection heading; nothing in it is changed, dropped or repeated.
"""

from __future__ import annotations

import re

# "## What went well", "### Lessons learned", "# Lessons", "## Where we got lucky": the
# sections of the template (reports.forms.REPORT_TEMPLATE) that look back rather than tell.
REFLECTION_HEADING = re.compile(
    r"^ {0,3}#{1,6}[ \t]+(?:what went (?:well|wrong|right)|where we got lucky|lessons?\b)",
    re.IGNORECASE,
)
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# A link reference definition ("[1]: https://…") serves the whole text: a text that has one
# is kept whole, or links above the split would lose their target.
LINK_REFERENCE = re.compile(r"^ {0,3}\[[^\]\n]+\]:", re.MULTILINE)


def split_report(body: str) -> tuple[str, str]:
    """(story, reflection): `body` cut before its first reflection heading outside code.

    `story + reflection == body` always. A body without such a heading, or with link
    reference definitions, is all story (`(body, "")`).
    """
    if LINK_REFERENCE.search(body):
        return body, ""
    fence = ""
    offset = 0
    for line in body.splitlines(keepends=True):
        opening = FENCE.match(line)
        if fence:
            # A fence closes with the same character, at least as long.
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = ""
        elif opening:
            fence = opening.group(1)
        elif REFLECTION_HEADING.match(line):
            return body[:offset], body[offset:]
        offset += len(line)
    return body, ""
