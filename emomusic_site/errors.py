"""The site's errors: the domain errors services raise, and how a page or the API answers them.

Domain errors, defined here once:
- not found: Django's Http404 (get_object_or_404 in the selectors) → 404;
- invalid input: Django's ValidationError (full_clean() and the services' own checks) → 400;
- `Conflict` → 409, `RateLimited` → 429 with Retry-After, `Unavailable` → 503.
The API's answer comes from one DRF exception handler (emomusic_site.api.exception_handler); a page's
from `error_page` (a form that shows the refusal, or the site's error page) or, for a view that has no
form to show it on, the `answers_domain_errors` decorator.

Django answers some errors before a view runs (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, more files than
DATA_UPLOAD_MAX_NUMBER_FILES, an unknown URL, a failed CSRF check); without the handlers below an API client
would get an HTML page where it expects `{"detail": "..."}`.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader

API_PREFIX = "/api/"

TITLES = {
    400: "That request didn't make sense",
    403: "You can't do that",
    404: "Page not found",
    409: "That can't be done yet",
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
TOO_MANY_FILES_DETAIL = (
    "This request holds more files than any form here takes (at most {limit}). Please send fewer at once."
)
CSRF_DETAIL = "Your session's security token was missing or out of date. Reload the page and send it again."


# --- Domain errors -------------------------------------------------------------------------------


class DomainError(Exception):
    """A refusal a service raises; the message is the sentence to show, `status` the HTTP answer."""

    status: int = 400
    default_message = "That request cannot be carried out."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)

    @property
    def headers(self) -> dict[str, str]:
        """Headers the answer carries besides the status (Retry-After for a rate limit)."""
        return {}


class Conflict(DomainError):
    """The object is not in a state that allows the request (a detection not analysed yet)."""

    status = 409
    default_message = "The request conflicts with the current state of the resource."


class Unavailable(DomainError):
    """A service the request needs (the task queue, the photo storage) is down; nothing was changed."""

    status = 503
    default_message = "The service is temporarily unavailable. Please try again in a minute."


class RateLimited(DomainError):
    """Too many attempts: the same request is refused for `retry_after_seconds` more."""

    status = 429

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"Too many attempts. Try again in {retry_after_seconds} seconds.")
        self.retry_after_seconds = retry_after_seconds

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


# --- Pages ---------------------------------------------------------------------------------------


def error_page(
    request: HttpRequest, error: DomainError, *, template: str | None = None, context: dict[str, Any] | None = None
) -> HttpResponse:
    """A page's answer to a domain error, with the error's status and headers.

    `template` and `context`: the page to show again, holding the refusal (a form, so that sending it
    again is the retry); without them, the site's error page with the error's sentence.
    """
    if template is None:
        response = respond(request, error.status, str(error))
    else:
        response = render(request, template, context, status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def answers_domain_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A view decorator: a domain error the view leaves to it gets `error_page`'s answer."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except DomainError as error:
            return error_page(request, error)

    return wrapped


# --- The contract's answer, and Django's own error views -----------------------------------------


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
    if isinstance(exception, TooManyFilesSent):
        return respond(request, 400, TOO_MANY_FILES_DETAIL.format(limit=settings.DATA_UPLOAD_MAX_NUMBER_FILES))
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
