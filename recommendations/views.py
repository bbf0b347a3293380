from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from detection.selectors import detections_for
from recommendations import selectors

HISTORY_PAGE_SIZE = 25


@login_required
def history(request: HttpRequest) -> HttpResponse:
    """The user's past detections and ratings, newest first."""
    detections = Paginator(detections_for(user=request.user), HISTORY_PAGE_SIZE)
    ratings = Paginator(selectors.ratings_for(user=request.user), HISTORY_PAGE_SIZE)
    return render(
        request,
        "recommendations/history.html",
        {
            "detections_page": detections.get_page(request.GET.get("detections_page")),
            "ratings_page": ratings.get_page(request.GET.get("ratings_page")),
        },
    )
