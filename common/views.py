from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

PREVIEWABLE_FIELDS = {"body", "description", "notes"}


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database answers, 503 otherwise: for load balancers and uptime checks."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")


@require_POST
def markdown_preview(request: HttpRequest) -> HttpResponse:
    """The live preview: Markdown rendered by the same sanitizing renderer as the saved page."""
    name = request.GET.get("field", "body")
    text = request.POST.get(name, "") if name in PREVIEWABLE_FIELDS else ""
    return render(request, "common/preview.html", {"text": text})
