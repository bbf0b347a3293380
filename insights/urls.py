from django.urls import path, re_path

from insights import views

# Mounted under /admin/insights/ (before the admin's own URLs): staff only.
urlpatterns = [
    path("", views.dashboard, name="insights_dashboard"),
]

# Mounted at the site's root: each user's own history, and its actions on their ratings.
user_urlpatterns = [
    path("history/", views.history, name="history"),
    # Only ids that fit the database's integer column reach the query; anything else is a 404.
    re_path(r"^history/ratings/(?P<rating_id>[0-9]{1,18})/delete$", views.rating_delete, name="rating_delete"),
    path("history/ratings/undo", views.rating_undo, name="rating_undo"),
]
