"""Errors Django raises before a view runs: JSON under /api/, the site's pages elsewhere, never a 5xx."""

import json

import pytest
from django.test import Client
from django.urls import path

from emomusic_site import errors


def test_an_oversized_json_body_gets_a_json_413_and_stores_nothing(api_client, settings):
    from recommendations.models import Rating

    body = json.dumps({"song": 1, "score": 5, "padding": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})

    response = api_client.post("/api/ratings/", body, content_type="application/json")

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "The request body is larger than the 2.5 MB limit."}
    assert not Rating.objects.exists()


@pytest.mark.django_db
def test_an_oversized_form_post_gets_the_sites_413_page(client):
    response = client.post(
        "/accounts/login/", "username=" + "x" * 3_000_000, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    assert b"That&#x27;s too large" in response.content and b"2.5 MB" in response.content


@pytest.mark.django_db
def test_an_unknown_api_path_is_json_and_an_unknown_page_is_the_sites_404(client):
    api = client.get("/api/no-such-thing/")
    page = client.get("/no-such-page/")

    assert api.status_code == 404 and api.json() == {"detail": "Not found."}
    assert page.status_code == 404 and b"Page not found" in page.content and b"Back to EmoMusic" in page.content


@pytest.mark.django_db
def test_a_failed_csrf_check_explains_what_to_do(user):
    client = Client(enforce_csrf_checks=True)

    page = client.post("/accounts/login/", {"username": user.username, "password": "x"})

    assert page.status_code == 403
    assert b"Reload the page and send it again" in page.content


def _explode(request):
    raise RuntimeError("boom")


urlpatterns = [path("api/explode/", _explode), path("explode/", _explode)]
from emomusic_site.urls import handler500  # noqa: E402, F401 -- the project's own, used with these routes


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_a_crash_is_a_plain_500_json_for_the_api_and_a_page_without_the_database_for_people():
    client = Client(raise_request_exception=False)

    api = client.get("/api/explode/")
    page = client.get("/explode/")

    assert api.status_code == 500 and api.json() == {"detail": errors.DETAILS[500]}
    assert page.status_code == 500 and b"Something went wrong on our side" in page.content
    assert b"boom" not in page.content
