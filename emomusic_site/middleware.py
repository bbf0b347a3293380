"""Request checks that every view would otherwise have to repeat."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from emomusic_site import errors

ADMIN_PREFIX = "/admin/"
NUL_IN_QUERY = "The address holds a NUL character (%00), which no page or filter accepts."


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
