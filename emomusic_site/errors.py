"""Error responses: the API contract's JSON under /api/, the site's own pages everywhere else.

Django answers some errors before a view runs (a body over
DATA_UPLOAD_MAX_MEMORY_SIZE, an unknown URL, a failed CSRF check); without
these handlers an API client would get an HTML page where it expects
`{"detail": "..."}`.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader

API_PREFIX = "/api/"

TITLES = {
    400: "That request didn't make sense",
    403: "You can't do that",
    404: "Page not found",
    413: "That's too large",
    429: "Too many attempts",
    500: "Something went wrong on our side",
    503: "We can't do that right now",
}
DETAILS = {
    400: "The request was malformed. Check it and try again.",
    403: "You do not have permission to do that.",
    404: "Not found.",
    500: "Something went wrong on our side, and what you sent may not have been saved. Please try again in a minute.",
}
CSRF_DETAIL = "Your session's security token was missing or out of date. Reload the page and send it again."


def _too_large_detail() -> str:
    limit_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 2**20
    return f"The request body is larger than the {limit_mb:.1f} MB limit."


def respond(request: HttpRequest, status: int, detail: str) -> HttpResponse:
    """The contract's {"detail": ...} under /api/, the site's error page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": detail}, status=status)
    context = {"status": status, "title": TITLES[status], "message": detail}
    return render(request, "errors/error.html", context, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        return respond(request, 413, _too_large_detail())
    return respond(request, 400, DETAILS[400])


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return respond(request, 403, DETAILS[403])


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return respond(request, 404, DETAILS[404])


def server_error(request: HttpRequest) -> HttpResponse:
    # No context processors and no database here: whatever failed may fail again.
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": DETAILS[500]}, status=500)
    html = loader.get_template("errors/500.html").render({"title": TITLES[500], "message": DETAILS[500]})
    return HttpResponse(html, status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return respond(request, 403, CSRF_DETAIL)
