"""The incident form's in-place dialog for a failure mode (issue 15, item 2: nothing typed is
lost): a category is added without leaving or reloading the form, and is chosen at once.

The dialog's form is the category page's (incidents.forms.CategoryForm) and saves through the
same action (incidents.actions.save_category), so it accepts and refuses what that page does,
with the same words. Services need no dialog: the form takes their names as text and adds new
ones on save. People are added by accounts.views.person_add.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from common.permissions import writer_required
from incidents import actions
from incidents.forms import CategoryForm

PREFIX = "mode"  # the dialog's field names ("mode-name") never clash with the incident form's


@require_http_methods(["GET", "POST"])
@writer_required
def add_failure_mode(request: HttpRequest) -> HttpResponse:
    """GET: the dialog's empty form. POST: add the category; 200 with an empty form again and
    an htmx `categoryAdded` event (`{"id": int, "path": str}`) that static/js/once.js answers
    by adding the mode to the incident form, checked; 400 with the form and its messages.
    403 for viewers (common.roles)."""
    form = CategoryForm(
        request.POST if request.method == "POST" else None, prefix=PREFIX, viewer=request.user
    )
    if request.method == "POST" and form.is_valid():
        category = actions.save_category(form.save(commit=False), by=request.user)
        response = render(
            request, "incidents/_add_failure_mode.html",
            {"form": CategoryForm(prefix=PREFIX, viewer=request.user), "added": category},
        )  # fmt: skip
        # ASCII JSON: a header carries no other text; the browser decodes the \u escapes.
        response["HX-Trigger"] = json.dumps(
            {"categoryAdded": {"id": category.pk, "path": category.path}}
        )
        return response
    status = 400 if form.errors else 200
    return render(request, "incidents/_add_failure_mode.html", {"form": form}, status=status)
