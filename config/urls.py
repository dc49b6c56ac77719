from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path, re_path, register_converter
from django.views.generic import RedirectView

from accounts import oidc, signin
from accounts import views as account_views
from common import views as common_views
from gamedays.calendar import calendar_feed
from remediations import views as remediation_views
from reports import dialogs, image_views, service_views
from reports import drafts as draft_views
from reports import views as incident_views
from reports.duplicates import incident_duplicate
from reports.markdown_views import incident_markdown
from reviews import views as review_views
from reviews.weeks import WeekLabel
from search import views as search_views

register_converter(WeekLabel, "week")

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="incident_list"), name="home"),
    path("healthz", common_views.healthz, name="healthz"),
    path("preview/", common_views.markdown_preview, name="markdown_preview"),
    path("audit/", common_views.audit_log, name="audit_log"),
    path("accounts/login/", signin.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/change/",
        signin.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("accounts/password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<str:uidb64>/<str:token>/",
        signin.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    # OpenID Connect single sign-on (404 unless ONCE_OIDC_ISSUER is set).
    path("oidc/authenticate/", login_not_required(oidc.OidcStartView.as_view()), name="oidc_start"),
    path(
        "oidc/callback/", login_not_required(oidc.OidcCallbackView.as_view()), name="oidc_callback"
    ),
    path("account/tokens/", account_views.tokens, name="account_tokens"),
    path("incidents/", incident_views.incident_list, name="incident_list"),
    path("incidents/new/", incident_views.incident_create, name="incident_create"),
    path("incidents/category-context/", incident_views.category_context, name="category_context"),
    path("incidents/add-failure-mode/", dialogs.add_failure_mode, name="add_failure_mode"),
    path("people/add/", account_views.person_add, name="person_add"),
    path("incidents/similar/", search_views.similar_panel, name="similar_panel"),
    path("incidents/<int:pk>/", incident_views.incident_detail, name="incident_detail"),
    path("incidents/<int:pk>.md", incident_markdown, name="incident_markdown"),
    path("incidents/<int:pk>/edit/", incident_views.incident_edit, name="incident_edit"),
    # The incident form's autosaved drafts (reports/drafts.py).
    path("incidents/new/draft/", draft_views.save_draft, name="incident_draft_new"),
    path(
        "incidents/new/draft/discard/", draft_views.discard_draft, name="incident_draft_discard_new"
    ),
    path("incidents/<int:pk>/draft/", draft_views.save_draft, name="incident_draft"),
    path(
        "incidents/<int:pk>/draft/discard/",
        draft_views.discard_draft,
        name="incident_draft_discard",
    ),
    path("incidents/<int:pk>/history/", incident_views.incident_history, name="incident_history"),
    # Pictures in reports: uploaded from the editor, served only to who may see the incident.
    path("incidents/images/", image_views.image_upload, name="image_upload"),
    path("incidents/<int:pk>/images/", image_views.image_upload, name="incident_image_upload"),
    re_path(
        r"^incidents/images/(?P<key>[A-Za-z0-9_-]{16,32})\.(?P<extension>png|jpg|gif|webp)$",
        image_views.image_file,
        name="incident_image",
    ),
    path("incidents/<int:pk>/duplicate/", incident_duplicate, name="incident_duplicate"),
    path("categories/", incident_views.category_tree, name="category_tree"),
    path("categories/<slug:slug>/", incident_views.category_detail, name="category_detail"),
    path("categories/<slug:slug>/edit/", incident_views.category_edit, name="category_edit"),
    path("remediations/", remediation_views.remediation_list, name="remediation_list"),
    path("remediations/new/", remediation_views.remediation_create, name="remediation_create"),
    path("remediations/<int:pk>/", remediation_views.remediation_detail, name="remediation_detail"),
    path(
        "remediations/<int:pk>/edit/", remediation_views.remediation_edit, name="remediation_edit"
    ),
    path(
        "remediations/<int:pk>/history/",
        remediation_views.remediation_history,
        name="remediation_history",
    ),
    path("services/", service_views.service_list, name="service_list"),
    path("services/<int:pk>/", service_views.service_detail, name="service_detail"),
    path("services/<int:pk>/notes/", service_views.service_notes, name="service_notes"),
    path("services/<int:pk>/history/", service_views.service_history, name="service_history"),
    path("services/<int:pk>/merge/", service_views.service_merge, name="service_merge"),
    path("search/", search_views.search_page, name="search"),
    path("review/", review_views.review_this_week, name="review_this_week"),
    path("review/<week:week>/", review_views.review_week, name="review_week"),
    path(
        "review/<week:week>/incidents/<int:pk>/reviewed/",
        review_views.incident_reviewed,
        name="review_incident",
    ),
    path("review/<week:week>/flags/<int:pk>/", review_views.flag_decision, name="review_flag"),
    path(
        "review/<week:week>/modes/<int:category>/triage/",
        review_views.flag_group_decision,
        name="review_flag_group",
    ),
    path(
        "review/<week:week>/remediations/<int:pk>/reopen/",
        review_views.remediation_reopen,
        name="review_reopen",
    ),
    path(
        "review/<week:week>/remediations/<int:pk>/",
        review_views.remediation_decision,
        name="review_remediation",
    ),
    path("review/<week:week>/meeting/", review_views.meeting_notes, name="review_meeting"),
    path("game-days/calendar/<str:secret>.ics", calendar_feed, name="game_day_calendar"),
    path("game-days/", include("gamedays.urls")),
    path("flags/", remediation_views.flag_list, name="flag_list"),
    path("flags/<int:pk>/", remediation_views.flag_detail, name="flag_detail"),
    # One login page for everyone (rate-limited, styled): the admin's own form redirects to it.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
    path("api/", include("config.api_urls")),
]

# HTML error pages for people, JSON ones under /api/.
handler400 = "common.views.bad_request"
handler403 = "common.views.permission_denied"
handler404 = "common.views.page_not_found"
handler500 = "common.views.server_error"
