"""`/incidents/<id>.md`: an incident downloaded as a Markdown postmortem (PRODUCT.md, "Writing,
duplicates and importing Markdown"); `import_markdown` reads it back into the same incident."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from common import audit
from incidents.models import Incident
from reports.interchange import export_record, for_export
from reports.markdown_export import write_postmortem


@require_GET
def incident_markdown(request: HttpRequest, pk: int) -> HttpResponse:
    """The incident as `INC-<id>.md`; 404 for a restricted incident hidden from the user, and
    only the remediations the user may see."""
    queryset = for_export(Incident.objects.visible_to(request.user), user=request.user)
    incident = get_object_or_404(queryset, pk=pk)
    audit.viewed(incident, request)  # a restricted incident's views are audited
    response = HttpResponse(
        write_postmortem(export_record(incident), reference=incident.pk),
        content_type="text/markdown; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="INC-{incident.pk}.md"'
    return response
