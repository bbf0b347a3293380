from django.urls import path

from detection import views

urlpatterns = [
    path("", views.home, name="home"),
]
