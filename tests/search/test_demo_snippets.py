"""Search snippets of the demo quote each sentence once (issue 15, item 1)."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.test import Client

from incidents.models import Incident
from reports.demo import load_demo

pytestmark = pytest.mark.django_db


def sentences(snippet: str) -> list[str]:
    plain = html.unescape(re.sub(r"<[^>]+>|…", " ", snippet))
    found = [re.sub(r"\s+", " ", s).strip() for s in re.split(r"(?<=[.!?;:])\s+", plain)]
    return [s for s in found if len(s.split()) >= 4]


def test_a_demo_incidents_snippet_never_holds_the_same_sentence_twice(
    alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # indexed as on a real commit
        assert load_demo().errors == []
    checked = 0
    for incident in Incident.objects.prefetch_related("causes"):
        # Searching for what the summary and a cause say: the snippet quotes around them.
        cause = incident.causes.all()[0].description
        query = " ".join(re.findall(r"[A-Za-z]{5,}", f"{incident.summary} {cause}")[:8])
        response = alice_client.get("/api/search/", {"q": query})
        assert response.status_code == 200
        hit = next(h for h in response.json()["results"] if h["title"] == incident.title)
        said = sentences(hit["snippet"])
        assert len(said) == len(set(said)), (incident.external_id, hit["snippet"])
        checked += 1
    assert checked >= 30
