from django.urls import path

from catalog import views

urlpatterns = [
    path("songs/", views.catalog, name="catalog"),
]
