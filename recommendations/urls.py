from django.urls import path

from recommendations import views

urlpatterns = [
    path("history/", views.history, name="history"),
]
