from django.urls import path

from gamedays import views

urlpatterns = [
    path("", views.game_day_list, name="game_day_list"),
    path("new/", views.game_day_create, name="game_day_create"),
    path("backlog/", views.backlog, name="game_day_backlog"),
    path("backlog/add/", views.backlog_add, name="game_day_backlog_add"),
    path("fixes/", views.scenario_fixes, name="scenario_fixes"),
    path("<int:pk>/", views.game_day_detail, name="game_day_detail"),
    path("<int:pk>/edit/", views.game_day_edit, name="game_day_edit"),
    path("<int:pk>/history/", views.game_day_history, name="game_day_history"),
    path("<int:pk>/start/", views.game_day_start, name="game_day_start"),
    path("<int:pk>/close/", views.game_day_close, name="game_day_close"),
    path(
        "<int:pk>/scenarios/<int:scenario_pk>/outcome/",
        views.scenario_outcome,
        name="scenario_outcome",
    ),
]
