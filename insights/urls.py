from django.urls import path

from insights import views

# Mounted under /admin/insights/ (before the admin's own URLs): staff only.
urlpatterns = [
    path("", views.dashboard, name="insights_dashboard"),
]
