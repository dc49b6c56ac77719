"""What the incident pages keep of their own: drafts of the incident form."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from incidents.models import Incident

# A person keeps at most this many drafts: one per form they were typing in (an incident's
# edit form, a new incident's form); saving one more drops their oldest (PRODUCT.md,
# "Writing, duplicates and importing Markdown": work in progress is autosaved as a draft per
# user).
MAX_DRAFTS_PER_USER = 20


def max_draft_chars() -> int:
    """A draft's fields hold at most twice ONCE_MAX_REPORT_CHARS characters: the report and,
    beside it, the rest of the form (summary, causes, timeline, remediations)."""
    return 2 * int(settings.ONCE_MAX_REPORT_CHARS)


class Draft(models.Model):
    """The incident form as a person last typed it, autosaved before they saved it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="incident_drafts"
    )
    # None: a draft of a new incident.
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, null=True, blank=True, related_name="drafts"
    )
    # The form's fields as the browser sent them: {name: [value, …]}.
    fields = models.JSONField(default=dict)
    # The incident's version the form started from (None for a new incident).
    base_version = models.PositiveIntegerField(null=True, blank=True)
    # The form it was typed in: a random key each form gets when it opens, so two tabs (two
    # new incidents, or one incident edited twice) keep a draft each (issue 15).
    form_key = models.CharField(max_length=40, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "incident", "form_key"],
                condition=models.Q(incident__isnull=False),
                name="unique_draft_per_user_incident_form",
            ),
            models.UniqueConstraint(
                fields=["user", "form_key"],
                condition=models.Q(incident__isnull=True),
                name="unique_new_incident_draft_per_user_form",
            ),
        ]

    def __str__(self) -> str:
        return f"Draft of {self.incident or 'a new incident'} by {self.user}"


class SavedForm(models.Model):
    """A form (its `form_key`) whose incident was saved: an autosave of it still in flight at
    the click on Save is dropped instead of bringing the draft back (issue 15). Kept a couple
    of days (reports/drafts.py MARKER_DAYS)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_forms"
    )
    form_key = models.CharField(max_length=40)
    saved_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "form_key"], name="unique_saved_form")
        ]

    def __str__(self) -> str:
        return f"Form {self.form_key} saved by {self.user}"
