"""The incident page reads like a postmortem and shows each thing once (issue 15, item 1)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils.html import escape
from hypothesis import given
from hypothesis import strategies as st

from incidents.models import Incident
from reports.outline import split_report
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

OLD_BODY = (
    "## Summary\n\nThe cache fell over.\n\n## Timeline\n\n- 10:00 it began\n\n"
    "## Root causes\n\n- a full disk\n\n## Lessons learned\n\nWatch the disks.\n"
)


def positions(html: str, *needles: str) -> list[int]:
    found = [html.find(needle) for needle in needles]
    assert -1 not in found, dict(zip(needles, found, strict=True))
    return found


def test_the_page_reads_in_the_order_of_a_postmortem(alice_client: Client) -> None:
    incident = IncidentFactory(
        summary="Checkout failed for ten minutes.",
        body="## Impact\n\nNo orders.\n\n## Resolution\n\nRolled back.\n\n"
        "## What went well\n\nThe rollback.\n\n## Lessons learned\n\nCanary first.\n",
    )
    incident.timeline.create(at=incident.started_at, text="Errors begin")
    incident.causes.create(kind="root_cause", description="A bad deploy")
    html = alice_client.get(incident.get_absolute_url()).content.decode()
    order = positions(
        html, "Checkout failed for ten minutes.", "No orders.", "Rolled back.", "Errors begin",
        "A bad deploy", "<h2>Remediations</h2>", "The rollback.", "Canary first.",
    )  # fmt: skip
    assert order == sorted(order)
    for text in ["Checkout failed for ten minutes.", "No orders.", "Canary first."]:
        assert html.count(text) == 1


def test_an_existing_report_with_its_own_summary_is_shown_unchanged(alice_client: Client) -> None:
    incident = IncidentFactory(summary="The cache fell over.", body=OLD_BODY)
    html = alice_client.get(incident.get_absolute_url()).content.decode()
    # Its text is neither rewritten nor dropped: every heading and line of it is on the page.
    assert Incident.objects.get(pk=incident.pk).body == OLD_BODY
    for text in ["<h2>Summary</h2>", "<h2>Root causes</h2>", "10:00 it began", "a full disk",
                 "<h2>Lessons learned</h2>", "Watch the disks."]:  # fmt: skip
        assert text in html, text
    assert "a full disk" in html.split("<h2>Causes</h2>")[0]  # kept in its place in the text


def test_a_report_is_split_outside_code_only_and_kept_whole_with_link_references() -> None:
    fenced = "## Impact\n\n```\n## Lessons learned\n```\n\n## What went wrong\n\nAll.\n"
    assert split_report(fenced) == (fenced[: fenced.index("## What went wrong")],
                                    "## What went wrong\n\nAll.\n")  # fmt: skip
    linked = "## Impact\n\nSee [the graph][1].\n\n## Lessons\n\nMore.\n\n[1]: https://x.test/\n"
    assert split_report(linked) == (linked, "")
    assert split_report("No headings at all.") == ("No headings at all.", "")


PIECES = st.sampled_from(["## Lessons\n", "```\n", "~~~~\n", "[1]: x\n", "a", "\r\n", " "])


@given(st.lists(PIECES).map("".join))
def test_splitting_a_report_never_loses_or_repeats_text(body: str) -> None:
    story, reflection = split_report(body)
    assert story + reflection == body


def test_no_demo_incident_repeats_its_summary_causes_or_timeline(
    alice_client: Client, settings: Any
) -> None:
    settings.DEBUG = True
    call_command("load_demo", verbosity=0)
    for incident in Incident.objects.prefetch_related("causes", "timeline"):
        assert "## Summary" not in incident.body and "## Timeline" not in incident.body
        page = alice_client.get(incident.get_absolute_url()).content.decode()
        for text in [incident.summary, *(c.description for c in incident.causes.all())]:
            assert page.count(escape(text)) == 1, (incident.external_id, text)
        assert all(c.description != incident.summary for c in incident.causes.all())
