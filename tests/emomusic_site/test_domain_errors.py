"""The domain errors (emomusic_site.errors) get one answer each: from the API's exception handler
(emomusic_site.api) and from the pages' helper, with the same status and, for a rate limit, Retry-After."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.test import Client
from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from detection.services import DetectionNotFinished, QueueUnavailable, StorageUnavailable
from emomusic_site import errors
from emomusic_site.errors import Conflict, RateLimited, Unavailable
from emomusic_site.urls import handler404  # noqa: F401 -- the project's own, answering beside these routes

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]

# (raised, status, body, Retry-After)
DOMAIN_ERRORS = [
    (Conflict("Not analysed yet."), 409, {"detail": "Not analysed yet."}, None),
    (Conflict(), 409, {"detail": "The request conflicts with the current state of the resource."}, None),
    (Unavailable("The queue is down."), 503, {"detail": "The queue is down."}, None),
    (
        Unavailable(),
        503,
        {"detail": "The service is temporarily unavailable. Please try again in a minute."},
        None,
    ),
    (RateLimited(42), 429, {"detail": "Too many attempts. Try again in 42 seconds."}, "42"),
    # The services' own errors are domain errors.
    (DetectionNotFinished("Wait for the result."), 409, {"detail": "Wait for the result."}, None),
    (QueueUnavailable("Nothing was saved."), 503, {"detail": "Nothing was saved."}, None),
    (StorageUnavailable("Nothing was deleted."), 503, {"detail": "Nothing was deleted."}, None),
]
# Django's own: not found and invalid input.
DJANGO_ERRORS = [
    (Http404("No Detection matches the given query."), 404, {"detail": "Not found."}),
    (
        ValidationError({"emotion": ["Choose one of the seven emotions."]}),
        400,
        {"emotion": ["Choose one of the seven emotions."]},
    ),
    (PermissionDenied(), 403, {"detail": "You do not have permission to perform this action."}),
]
ALL_ERRORS = [*DOMAIN_ERRORS, *[(error, status, body, None) for error, status, body in DJANGO_ERRORS]]
raised: dict[str, Exception] = {}


class RaisingApi(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request) -> Response:
        raise raised["error"]


@errors.answers_domain_errors
def raising_page(request):
    raise raised["error"]


def refusing_form(request):
    """A page that shows the refusal on its own form, as the upload and sign-up pages do."""
    return errors.error_page(
        request,
        raised["error"],
        template="errors/error.html",
        context={"status": 0, "title": "Form", "message": "Again"},
    )


urlpatterns = [
    path("api/raising/", RaisingApi.as_view()),
    path("raising/", raising_page),
    path("refusing/", refusing_form),
    # The site's own, which its pages link to.
    path("", include("emomusic_site.urls")),
]


@pytest.fixture
def raising():
    def set_error(error: Exception) -> None:
        raised["error"] = error

    yield set_error
    raised.clear()


@pytest.mark.parametrize(("error", "status", "body", "retry_after"), ALL_ERRORS, ids=repr)
def test_the_api_answers_each_error_once(raising, error, status, body, retry_after):
    raising(error)

    response = Client().get("/api/raising/")

    assert (response.status_code, response.json()) == (status, body)
    assert response.get("Retry-After") == retry_after


@pytest.mark.parametrize(("error", "status", "body", "retry_after"), DOMAIN_ERRORS, ids=repr)
def test_a_page_answers_each_domain_error_with_the_sites_error_page(raising, error, status, body, retry_after):
    raising(error)

    response = Client().get("/raising/")

    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert errors.TITLES[status].replace("'", "&#x27;") in page
    assert body["detail"] in page
    assert response.get("Retry-After") == retry_after


@pytest.mark.parametrize(("error", "status", "body", "retry_after"), DOMAIN_ERRORS, ids=repr)
def test_a_page_can_show_the_refusal_on_its_own_form(raising, error, status, body, retry_after):
    raising(error)

    response = Client().get("/refusing/")

    assert response.status_code == status
    assert "Form" in response.content.decode() and "Again" in response.content.decode()
    assert response.get("Retry-After") == retry_after


def test_a_page_leaves_django_errors_to_djangos_handlers(raising):
    raising(Http404("gone"))

    response = Client().get("/raising/")

    assert response.status_code == 404 and "Page not found" in response.content.decode()
