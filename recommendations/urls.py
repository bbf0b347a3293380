from django.urls import path

from recommendations import views

urlpatterns = [
    path("history/", views.history, name="history"),
    path("mood/", views.pick_mood, name="pick_mood"),
]
