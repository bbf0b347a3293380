"""Every answer to a signed-in user shows their data (their emotions, their songs): no cache may keep it."""

import pytest

from tests.factories import DetectionFactory

pytestmark = pytest.mark.django_db


def personal_pages(detection_id: int) -> list[str]:
    return [
        "/",
        "/history/",
        f"/detections/{detection_id}/",
        f"/detections/{detection_id}/result",
        "/mood/?emotion=sad",
        "/accounts/profile/",
        "/accounts/profile/export/",
        "/accounts/delete/",
        "/api/me/",
        "/api/me/export/",
        "/api/detections/",
        f"/api/detections/{detection_id}/",
    ]


def test_each_page_with_the_users_data_is_no_store(logged_in, user):
    detection = DetectionFactory(user=user, finished=True)

    for path in personal_pages(detection.pk):
        response = logged_in.get(path)

        assert response.status_code == 200, path
        assert "no-store" in response["Cache-Control"], path
        assert "private" in response["Cache-Control"], path


def test_a_token_clients_api_answers_are_no_store_too(api_client, user):
    detection = DetectionFactory(user=user, finished=True)

    for path in ("/api/me/", "/api/detections/", f"/api/detections/{detection.pk}/"):
        response = api_client.get(path)

        assert response.status_code == 200, path
        assert "no-store" in response["Cache-Control"], path


def test_the_visitors_landing_page_stays_cacheable(client):
    response = client.get("/")

    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
