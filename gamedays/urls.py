from django.urls import path

from gamedays import views

urlpatterns = [
    path("", views.game_day_list, name="game_day_list"),
    path("<int:pk>/", views.game_day_detail, name="game_day_detail"),
]
