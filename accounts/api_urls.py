from django.urls import path

from accounts import api

urlpatterns = [
    path("auth/signup/", api.SignupApi.as_view(), name="api-signup"),
    path("auth/token/", api.TokenApi.as_view(), name="api-token"),
    path("auth/password/", api.PasswordApi.as_view(), name="api-password"),
    path("me/", api.MeApi.as_view(), name="api-me"),
    path("me/export/", api.MeExportApi.as_view(), name="api-me-export"),
]
