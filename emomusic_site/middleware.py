"""Request checks that every view would otherwise have to repeat."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

from emomusic_site import errors

ADMIN_PREFIX = "/admin/"
NUL_IN_QUERY = "The address holds a NUL character (%00), which no page or filter accepts."


class RequestSizeLimitMiddleware:
    """413 for a request whose declared body is larger than its address takes, before anything reads it.

    The limit is REQUEST_MAX_BYTES_BY_PATH for the addresses that take files, REQUEST_MAX_BYTES
    elsewhere. A body without Content-Length (chunked) is read by Django as empty, so the declared
    length is the whole body it will read.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads a malformed length as no body
        limit = settings.REQUEST_MAX_BYTES_BY_PATH.get(request.path_info, settings.REQUEST_MAX_BYTES)
        if length > limit:
            return errors.respond(
                request,
                413,
                f"This request is {length / 2**20:.1f} MB, larger than the {limit / 2**20:.1f} MB this address "
                "accepts. Please send less at once.",
            )
        return self.get_response(request)


class RejectNulInAdminQueryMiddleware:
    """400 for an admin address whose query string holds a NUL character.

    PostgreSQL refuses NUL in any text value, so `?genre__exact=%00` on an admin
    list (or any filter) raised ValueError deep in the database driver: a 500.
    No legitimate link carries one.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The site's own views and the API already treat NUL as plain text (searches) or refuse it
        # field by field; the admin's list filters hand it to the database as it comes.
        if request.path.startswith(ADMIN_PREFIX) and any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            return errors.respond(request, 400, NUL_IN_QUERY)
        return self.get_response(request)


class PersonalAnswersNotCachedMiddleware:
    """No cache keeps an answer to a signed-in user: `Cache-Control: private, no-store`, as `never_cache` sets it.

    Every page a signed-in user sees shows their own data (their emotions on the upload page and in
    History, their songs, their account), and so does every API answer to them. One rule here rather
    than a decorator per view: a new personal page is covered without anyone remembering to. A view
    that sets its own Cache-Control (the photo's) keeps it; a visitor's pages stay cacheable.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # Read after the view: the API's token authentication sets the user only then.
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response
