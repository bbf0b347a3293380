from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    """The landing page for visitors; the selfie upload page for signed-in users."""
    if not request.user.is_authenticated:
        return render(request, "home.html")
    return render(request, "detection/upload.html")
