from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.utils import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from common.filters import AuditEventFilterSet
from common.models import AuditEvent
from common.permissions import writer_required

PREVIEWABLE_FIELDS = {"body", "description", "notes", "plan", "observations"}


# /healthz must answer within 5 s (PRODUCT.md) however the database fails: a connection that
# never completes is cut by `connect_timeout` (settings), a query that never returns by this.
HEALTH_QUERY_TIMEOUT_MS = 2000


def database_answers(alias: str = DEFAULT_DB_ALIAS) -> bool:
    """True when the database runs a query on a real table within HEALTH_QUERY_TIMEOUT_MS."""
    db = connections[alias]
    try:
        with transaction.atomic(using=alias), db.cursor() as cursor:
            if db.vendor == "postgresql":
                # Local to this transaction: the connection's other queries keep their limits.
                cursor.execute(
                    "SELECT set_config('statement_timeout', %s, true),"
                    " set_config('lock_timeout', %s, true)",
                    [str(HEALTH_QUERY_TIMEOUT_MS), str(HEALTH_QUERY_TIMEOUT_MS)],
                )
                _read_a_table(cursor)
            elif db.vendor == "sqlite":
                # Wait this long for a writer's lock (not the connection's 5 s), then restore.
                cursor.execute("PRAGMA busy_timeout")
                (usual,) = cursor.fetchone()
                cursor.execute(f"PRAGMA busy_timeout = {HEALTH_QUERY_TIMEOUT_MS}")
                try:
                    _read_a_table(cursor)
                finally:
                    cursor.execute(f"PRAGMA busy_timeout = {int(usual)}")
            else:
                _read_a_table(cursor)
    except DatabaseError:
        return False
    return True


def _read_a_table(cursor: Any) -> None:
    # A table, not `SELECT 1`: the database must be migrated and its tables readable.
    cursor.execute("SELECT 1 FROM django_migrations LIMIT 1")
    cursor.fetchall()


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database answers, 503 otherwise: for load balancers and uptime checks."""
    if not database_answers():
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")


@require_POST
@writer_required
def markdown_preview(request: HttpRequest) -> HttpResponse:
    """The live preview: Markdown rendered by the same sanitizing renderer as the saved page."""
    name = request.GET.get("field", "body")
    text = request.POST.get(name, "") if name in PREVIEWABLE_FIELDS else ""
    return render(request, "common/preview.html", {"text": text})


AUDIT_PAGE_SIZE = 50


@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    """/audit/: the audit log, newest first, filtered; read only.

    Superusers only (PRODUCT.md). Anyone else, staff included, gets 404, as for a restricted
    incident: the log names restricted incidents and who looked at them.
    """
    if not request.user.is_superuser:
        raise Http404
    filterset = AuditEventFilterSet(request.GET, queryset=AuditEvent.objects.all())
    page = Paginator(filterset.qs, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "common/audit.html", {"filter": filterset, "page": page})


# --- Error pages: HTML for people, JSON under /api/ (PRODUCT.md: "Errors are JSON under /api/,
# 500 included"). DRF answers the errors it knows in JSON itself; these catch what reaches
# Django: a bug in a viewset or in middleware, an address no view serves, a request Django
# itself refuses (a disallowed host, a body too large before DRF reads it).


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "The request could not be understood."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "You may not do this."}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "There is nothing at this address in the API."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        # Never the exception's text: it can hold data or internals. The log has the traceback.
        return JsonResponse(
            {"detail": "Something went wrong on our side. It is logged; try again later."},
            status=500,
        )
    return defaults.server_error(request)
