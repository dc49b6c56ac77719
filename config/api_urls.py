"""The REST API under /api/ (PRODUCT.md, "REST API")."""

from django.contrib.auth.decorators import login_required
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from common.api import NoSuchEndpoint
from gamedays.api import GameDayViewSet, ScenarioViewSet
from remediations.api import FlagViewSet, RemediationViewSet
from reports.api import CategoryViewSet, IncidentViewSet, ServiceViewSet
from reviews.api import ReviewAgendaView
from search.api import SearchViewSet, SimilarIncidentsView


class Router(DefaultRouter):
    include_format_suffixes = False  # one URL per resource: no /api/incidents.json twins


router = Router()
router.register("incidents", IncidentViewSet)
router.register("categories", CategoryViewSet)
router.register("services", ServiceViewSet)
router.register("remediations", RemediationViewSet)
router.register("flags", FlagViewSet)
router.register("game-days", GameDayViewSet)
router.register("scenarios", ScenarioViewSet)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # A page for people: anonymous visitors go to the login page like everywhere else.
    path(
        "docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path("search/", SearchViewSet.as_view({"get": "list"}), name="api-search"),
    # Before the router: its incidents/<pk>/ would take "similar" for an id.
    path("incidents/similar/", SimilarIncidentsView.as_view(), name="api-similar-incidents"),
    re_path(r"^review/(?P<week>\d{4}-W\d{2})/$", ReviewAgendaView.as_view(), name="api-review"),
    *router.urls,
    re_path(r"^.*$", NoSuchEndpoint.as_view()),
]
