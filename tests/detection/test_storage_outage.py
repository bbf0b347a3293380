"""The photo storage down: showing or deleting a photo answers 503 saying so, and nothing is lost.

A delete waits for the storage: while it cannot delete the photo, the result
and its photo both stay (and say so), and the same request succeeds once the
storage is back. The storage fails as the S3 backend does (tests/storage_outage.py).
"""

import html
from pathlib import Path

import pytest
from django.test import Client

from detection.models import Detection, DetectionStatus
from recommendations.models import Rating
from tests.detection.images import image_bytes
from tests.factories import DetectionFactory, RatingFactory

pytestmark = pytest.mark.django_db

PHOTO_UNAVAILABLE = "We can't load photos right now. Please try again later."
NOT_DELETED = (
    "We can't delete photos right now, so nothing was deleted: the result and its photo are still here. "
    "Please try again later."
)
FAILURES = ["unreachable", "refused"]


def with_photo(user) -> tuple[Detection, Path]:
    detection = DetectionFactory(finished=True, user=user, size=(240, 180))
    return detection, Path(detection.image.path)


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def assert_untouched(detection: Detection, photo: Path) -> None:
    stored = Detection.objects.get(pk=detection.pk)
    assert stored.image.name == detection.image.name and stored.photo_deleted is None
    assert photo.read_bytes() == image_bytes()


# --- The photo ------------------------------------------------------------------------------


@pytest.mark.parametrize("failure", FAILURES)
def test_the_photo_answers_503_saying_photos_cannot_be_loaded(user, storage_down, failure, client_for):
    detection, photo = with_photo(user)
    storage_down(failure)

    response = client_for(user).get(f"/detections/{detection.pk}/photo")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert PHOTO_UNAVAILABLE in page_text(response)
    assert "deleted" not in page_text(response), "the photo is not gone: a 404 would be a lie"
    assert_untouched(detection, photo)


def test_the_photo_of_someone_else_is_still_a_404_while_storage_is_down(
    user, other_user, client, storage_down, client_for
):
    detection, photo = with_photo(user)
    storage_down()

    assert client_for(other_user).get(f"/detections/{detection.pk}/photo").status_code == 404
    anonymous = client.get(f"/detections/{detection.pk}/photo")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert_untouched(detection, photo)


# --- Deleting a result ----------------------------------------------------------------------


@pytest.mark.parametrize("failure", FAILURES)
def test_the_delete_form_answers_503_and_keeps_the_result_its_photo_and_ratings(
    user, storage_down, failure, client_for
):
    detection, photo = with_photo(user)
    rating = RatingFactory(user=user, detection=detection)
    storage_down(failure)

    response = client_for(user).post(f"/detections/{detection.pk}/delete")

    assert response.status_code == 503
    page = page_text(response)
    assert NOT_DELETED in page
    # The same confirmation, so that pressing the button again is the retry.
    assert f'action="/detections/{detection.pk}/delete"' in page and "Yes, delete it" in page
    assert "were deleted" not in page
    assert_untouched(detection, photo)
    assert Rating.objects.get(pk=rating.pk).detection_id == detection.pk


def test_the_delete_form_works_again_once_the_storage_is_back(user, settings, storage_down, client_for):
    detection, photo = with_photo(user)
    working = settings.STORAGES
    storage_down()
    web = client_for(user)
    assert web.post(f"/detections/{detection.pk}/delete").status_code == 503

    settings.STORAGES = working
    response = web.post(f"/detections/{detection.pk}/delete", follow=True)

    assert response.redirect_chain == [("/", 302)]
    assert "The result and its photo were deleted." in page_text(response)
    assert not Detection.objects.filter(pk=detection.pk).exists()
    assert not photo.exists()


@pytest.mark.parametrize("failure", FAILURES)
def test_the_api_delete_answers_503_and_keeps_the_result_and_its_photo(api_client, user, storage_down, failure):
    detection, photo = with_photo(user)
    storage_down(failure)

    response = api_client.delete(f"/api/detections/{detection.pk}/")

    assert response.status_code == 503
    assert response.json() == {"detail": NOT_DELETED}
    assert_untouched(detection, photo)
    assert api_client.get(f"/api/detections/{detection.pk}/").status_code == 200


def test_the_api_delete_of_someone_else_is_still_a_404_while_storage_is_down(other_client, user, storage_down):
    detection, photo = with_photo(user)
    storage_down()

    response = other_client.delete(f"/api/detections/{detection.pk}/")

    assert response.status_code == 404
    assert_untouched(detection, photo)


def test_a_result_whose_photo_is_already_gone_is_deleted_while_storage_is_down(
    api_client, user, storage_down, client_for
):
    web_one = DetectionFactory(user=user, status=DetectionStatus.DONE, photo_deleted="2026-11-23T10:00:00Z")
    api_one = DetectionFactory(user=user, status=DetectionStatus.DONE, photo_deleted="2026-11-23T10:00:00Z")
    storage_down()

    assert client_for(user).post(f"/detections/{web_one.pk}/delete").status_code == 302
    assert api_client.delete(f"/api/detections/{api_one.pk}/").status_code == 204

    assert not Detection.objects.filter(pk__in=[web_one.pk, api_one.pk]).exists()


# --- The admin ------------------------------------------------------------------------------


def admin_client(staff_user) -> Client:
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.mark.parametrize("failure", FAILURES)
def test_an_admin_delete_shows_the_refusal_on_its_confirmation_page_and_keeps_the_result(
    user, staff_user, storage_down, failure
):
    detection, photo = with_photo(user)
    storage_down(failure)
    url = f"/admin/detection/detection/{detection.pk}/delete/"

    response = admin_client(staff_user).post(url, {"post": "yes"}, follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [(url, 302)]
    page = page_text(response)
    assert NOT_DELETED in page and "deleted successfully" not in page
    assert 'name="post" value="yes"' in page  # the confirmation again: confirming is the retry
    assert_untouched(detection, photo)


def test_the_admin_bulk_delete_keeps_what_it_could_not_delete_and_lists_it(user, staff_user, storage_down):
    first, first_photo = with_photo(user)
    second, second_photo = with_photo(user)
    storage_down(deletes_before_outage=1)
    changelist = "/admin/detection/detection/"

    response = admin_client(staff_user).post(
        changelist,
        {"action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"},
        follow=True,
    )

    assert response.status_code == 200 and response.redirect_chain == [(changelist, 302)]
    page = page_text(response)
    assert f"{NOT_DELETED} The ones still listed were not deleted." in page
    assert "Successfully deleted" not in page
    # One delete went through before the outage (the admin's order decides which); the other waits.
    kept = Detection.objects.get()
    photos = {first.pk: first_photo, second.pk: second_photo}
    (deleted_photo,) = [photo for pk, photo in photos.items() if pk != kept.pk]
    assert not deleted_photo.exists()
    assert_untouched(kept, photos[kept.pk])
    assert f"/admin/detection/detection/{kept.pk}/change/" in page


def test_an_admin_deleting_an_account_while_storage_is_down_sees_why_and_the_account_stays(
    user, staff_user, storage_down
):
    detection, photo = with_photo(user)
    storage_down()
    url = f"/admin/accounts/user/{user.pk}/delete/"

    response = admin_client(staff_user).post(url, {"post": "yes"}, follow=True)

    assert response.status_code == 200 and response.redirect_chain == [(url, 302)]
    assert "We can't delete photos right now, so your account was not deleted" in page_text(response)
    assert type(user).objects.filter(pk=user.pk).exists()
    assert_untouched(detection, photo)
