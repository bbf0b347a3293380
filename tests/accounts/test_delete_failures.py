"""Deleting an account while the photo storage is down: a 503 that says so, and the account stays whole.

The account is deleted only once every photo is: a photo that cannot be
deleted keeps the account, its results, ratings and log-in, so that the user
can see what is still kept and try again. The storage fails as the S3 backend
does (tests/storage_outage.py).
"""

import html

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts.models import User
from detection.models import Detection
from recommendations.models import Rating
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

NOT_DELETED = "We can't delete photos right now, so your account was not deleted. Please try again later."
FAILURES = ["unreachable", "refused"]
CONFIRMED = {"password": TEST_PASSWORD}


def assert_account_whole(user, mine: dict) -> None:
    assert User.objects.filter(pk=user.pk).exists()
    assert Detection.objects.filter(user=user).count() == 2
    assert Rating.objects.filter(user=user).count() == 2
    assert not Detection.objects.filter(user=user, photo_deleted__isnull=False).exists()
    assert all(photo.exists() for photo in mine["photos"])


@pytest.mark.parametrize("failure", FAILURES)
def test_the_api_answers_503_and_deletes_nothing(api_client, user, footprint, storage_down, failure):
    mine = footprint(user)
    storage_down(failure)

    response = api_client.delete("/api/me/", CONFIRMED, format="json")

    assert response.status_code == 503
    assert response.json() == {"detail": NOT_DELETED}
    assert_account_whole(user, mine)
    assert Token.objects.filter(user=user).exists()
    assert api_client.get("/api/me/").status_code == 200


@pytest.mark.parametrize("failure", FAILURES)
def test_the_page_answers_503_keeps_the_user_signed_in_and_deletes_nothing(
    logged_in, user, footprint, storage_down, failure
):
    mine = footprint(user)
    storage_down(failure)

    response = logged_in.post(reverse("account_delete"), {"password": TEST_PASSWORD})

    assert response.status_code == 503
    page = html.unescape(response.content.decode())
    assert NOT_DELETED in page
    assert "Goodbye" not in page
    # The same confirmation form, so that sending it again is the retry.
    assert 'name="password"' in page and "Delete my account for good" in page
    assert int(logged_in.session[SESSION_KEY]) == user.pk
    assert_account_whole(user, mine)


def test_photos_deleted_before_the_outage_are_said_and_recorded(api_client, user, footprint, storage_down):
    mine = footprint(user)
    storage_down(deletes_before_outage=1)

    response = api_client.delete("/api/me/", CONFIRMED, format="json")

    assert response.status_code == 503
    assert response.json() == {
        "detail": "We can't delete photos right now, so your account was not deleted "
        "(1 of your 2 photos already was). Please try again later."
    }
    assert User.objects.filter(pk=user.pk).exists()
    assert Detection.objects.filter(user=user).count() == 2
    assert Rating.objects.filter(user=user).count() == 2
    # The photo that went is recorded as gone (its result says so); the other is kept as it was.
    gone = Detection.objects.get(user=user, photo_deleted__isnull=False)
    kept = Detection.objects.get(user=user, photo_deleted__isnull=True)
    assert gone.image.name == "" and kept.image.name
    assert sorted(photo.exists() for photo in mine["photos"]) == [False, True]


def test_the_delete_goes_through_once_the_storage_is_back(api_client, user, footprint, settings, storage_down):
    mine = footprint(user)
    working = settings.STORAGES
    storage_down(deletes_before_outage=1)
    assert api_client.delete("/api/me/", CONFIRMED, format="json").status_code == 503

    settings.STORAGES = working
    response = api_client.delete("/api/me/", CONFIRMED, format="json")

    assert response.status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()
    assert not Detection.objects.filter(user_id=user.pk).exists()
    assert not any(photo.exists() for photo in mine["photos"])


def test_an_account_with_no_photo_left_is_deleted_while_storage_is_down(logged_in, user, footprint, storage_down):
    footprint(user)
    Detection.objects.filter(user=user).update(image="", photo_deleted="2026-11-23T10:00:00Z")
    storage_down()

    response = logged_in.post(reverse("account_delete"), {"password": TEST_PASSWORD})

    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert not User.objects.filter(pk=user.pk).exists()
    assert not Detection.objects.filter(user_id=user.pk).exists()
