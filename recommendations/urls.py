from django.urls import path, re_path

from recommendations import views

urlpatterns = [
    path("mood/", views.pick_mood, name="pick_mood"),
    # Only ids that fit the database's integer column reach the query; anything else is a 404.
    re_path(r"^history/ratings/(?P<rating_id>[0-9]{1,18})/delete$", views.rating_delete, name="rating_delete"),
    path("history/ratings/undo", views.rating_undo, name="rating_undo"),
]
