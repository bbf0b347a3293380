from django.urls import path

from insights import views

# Mounted under /admin/insights/ (before the admin's own URLs): staff only.
urlpatterns = [
    path("", views.dashboard, name="insights_dashboard"),
]

# Mounted at the site's root: each user's own history.
user_urlpatterns = [
    path("history/", views.history, name="history"),
]
