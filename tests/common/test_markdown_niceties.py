"""Markdown people expect (PRODUCT.md, "Writing, duplicates and importing Markdown"): bare URLs
and INC-42 become links, task lists and strikethrough work, all still sanitized."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from common.markdown import render_markdown
from incidents.models import Visibility
from tests.common.markdown_helpers import Page, visible_text
from tests.common.test_markdown import assert_safe
from tests.factories import IncidentFactory


def test_a_bare_url_becomes_a_link_and_keeps_its_text() -> None:
    html = render_markdown("Dashboard: https://grafana.example/d/abc?from=now-1h, see there.")
    assert '<a href="https://grafana.example/d/abc?from=now-1h"' in html
    assert visible_text(html) == "Dashboard: https://grafana.example/d/abc?from=now-1h, see there."


def test_a_www_address_links_to_http() -> None:
    assert '<a href="http://www.example.com"' in render_markdown("Go to www.example.com now")


def test_urls_in_code_and_in_links_are_left_alone() -> None:
    html = render_markdown("`https://a.example` and [https://b.example](https://c.example)")
    assert "<code>https://a.example</code>" in html
    assert html.count("<a ") == 1 and 'href="https://c.example"' in html


def test_a_bare_url_with_a_dangerous_scheme_is_not_a_link() -> None:
    html = render_markdown("javascript://example.com/%0aalert(1) and data:text/html,x")
    assert "<a " not in html
    assert_safe(html)


def test_incident_references_link_to_the_incident() -> None:
    html = render_markdown("Same as INC-42, and (INC-7).")
    assert '<a href="/incidents/42/" rel="noopener noreferrer nofollow">INC-42</a>' in html
    assert '<a href="/incidents/7/"' in html
    assert visible_text(html) == "Same as INC-42, and (INC-7)."


@pytest.mark.parametrize("text", ["XINC-4", "INC-0", "INC-12a", "`INC-4`", "inc-4", "INC-"])
def test_things_that_only_look_like_references_stay_text(text: str) -> None:
    assert "<a " not in render_markdown(text)


def test_a_reference_inside_a_link_keeps_the_outer_link() -> None:
    html = render_markdown("[see INC-3](https://tracker.example/3)")
    assert html.count("<a ") == 1 and "/incidents/3/" not in html


@pytest.mark.django_db
def test_a_reference_to_a_hidden_incident_looks_like_any_other_and_its_page_404s(
    alice: User, charlie_client: Client
) -> None:
    hidden = IncidentFactory(
        author=alice,
        visibility=Visibility.RESTRICTED,
        access_groups=[Group.objects.create(name="S")],
    )
    missing = hidden.pk + 1000
    shown = render_markdown(f"INC-{hidden.pk}").replace(str(hidden.pk), "N")
    absent = render_markdown(f"INC-{missing}").replace(str(missing), "N")
    assert shown == absent  # the link says nothing about whether it exists
    assert charlie_client.get(f"/incidents/{hidden.pk}/").status_code == 404


def test_task_lists_show_disabled_checkboxes() -> None:
    html = render_markdown("- [ ] page the DBA\n- [x] roll back\n- plain item")
    assert '<ul class="task-list">' in html
    assert html.count('<li class="task-list-item">') == 2
    boxes = re.findall(r"<input ([^>]*)> (page the DBA|roll back)", html)
    assert [(sorted(attrs.split()), text) for attrs, text in boxes] == [
        (['disabled="disabled"', 'type="checkbox"'], "page the DBA"),
        (['checked=""', 'disabled="disabled"', 'type="checkbox"'], "roll back"),
    ]
    assert "<li>plain item</li>" in html
    assert_safe(html)


def test_a_typed_input_tag_stays_text() -> None:
    html = render_markdown('<input type="text" name="password"> and <input type=checkbox>')
    assert "<input" not in html
    assert visible_text(html) == '<input type="text" name="password"> and <input type=checkbox>'


def test_strikethrough_needs_two_tildes() -> None:
    html = render_markdown("~~wrong theory~~ and ~/.ssh and a~b~c")
    assert "<del>wrong theory</del>" in html
    assert "<sub>" not in html and "~/.ssh" in visible_text(html) and "a~b~c" in html


NICE = st.sampled_from(
    ["https://", "http://x.example/", "www.", "INC-", "1", "42", "~~", "~", "- [ ] ", "- [x] ",
     "[", "]", "(", ")", "`", "<", ">", "@", "a", ".", " ", "\n", "javascript:", "*"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(NICE, max_size=60).map("".join))
def test_random_links_references_tasks_and_tildes_stay_safe_and_shallow(source: str) -> None:
    html = render_markdown(source)
    assert_safe(html)
    assert Page(html).depth <= 40


def test_many_bare_urls_and_references_render_within_the_budget() -> None:
    source = " ".join(f"https://h{n}.example/p INC-{n + 1} ~~x~~" for n in range(3000))
    html = render_markdown(source)
    assert html.count('href="/incidents/') == 3000 or "<a " not in html  # rendered or plain
    assert "INC-3000" in visible_text(html)
