from django.urls import path

from accounts import api

urlpatterns = [
    path("auth/signup/", api.SignupApi.as_view(), name="api-signup"),
    path("auth/token/", api.TokenApi.as_view(), name="api-token"),
    path("auth/password/", api.PasswordApi.as_view(), name="api-password"),
    # The account itself (/api/me/, /api/me/export/): recommendations/api_urls.py, as its deletion
    # and its export reach the detections and ratings.
]
