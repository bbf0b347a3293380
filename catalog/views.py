from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from catalog import selectors

SONGS_PER_PAGE = 25


@require_GET
@login_required
def catalog(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("search", "").strip()
    mood = request.GET.get("mood", "").strip()
    songs = selectors.songs_list(search=search, mood=mood)
    # get_page turns a missing, malformed or too large page number into a real page.
    page = Paginator(songs, SONGS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "search": search,
        "mood": mood,
        "moods": selectors.moods_with_counts(),
        "query": query.urlencode(),
        "total": page.paginator.count,
    }
    return render(request, "catalog/catalog.html", context)
