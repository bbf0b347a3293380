"""A request's total size and its number of files are bounded before anything reads its body.

The per-file cap (emomusic_site.uploads) bounds one file; these bound a request of many, which the
CSRF check would otherwise spool to disk before answering 403.
"""

from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.test import Client

from detection.images import MAX_UPLOAD_BYTES
from detection.models import Detection
from detection.services import MAX_FRAMES
from tests.detection.images import image_bytes, upload


@pytest.fixture
def spooled(settings, tmp_path):
    """Every uploaded byte goes to a temporary file in tmp_path; returns the list of chunk sizes written."""
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    written: list[int] = []
    store = TemporaryFileUploadHandler.receive_data_chunk

    def receive_data_chunk(self, raw_data, start):
        written.append(len(raw_data))
        return store(self, raw_data, start)

    with mock.patch.object(TemporaryFileUploadHandler, "receive_data_chunk", receive_data_chunk):
        yield written


def browser() -> Client:
    """A client holding a CSRF cookie, as a browser that has seen a form does: the CSRF check then reads the body."""
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = "x" * 32
    return client


def parts(count: int, size: int) -> dict:
    return {f"part{index}": SimpleUploadedFile(f"{index}.bin", b"x" * size) for index in range(count)}


@pytest.mark.django_db
def test_an_anonymous_log_in_with_large_files_is_refused_before_its_body_is_read(settings, spooled):
    settings.REQUEST_MAX_BYTES = 100_000

    response = browser().post("/accounts/login/", parts(8, 200_000))

    assert response.status_code == 413
    page = response.content.decode()
    assert "This request is 1.5 MB, larger than the 0.1 MB this address accepts." in page
    assert sum(spooled) == 0


def test_the_api_answers_413_in_its_own_shape(settings, api_client, spooled):
    settings.REQUEST_MAX_BYTES = 100_000

    response = api_client.post("/api/ratings/", parts(2, 200_000), format="multipart")

    assert response.status_code == 413
    assert response.json() == {
        "detail": "This request is 0.4 MB, larger than the 0.1 MB this address accepts. Please send less at once."
    }
    assert sum(spooled) == 0


def test_the_photo_upload_takes_a_full_burst_of_photos_at_their_limit(settings):
    for path in ("/api/detections/", "/detections/new"):
        assert settings.REQUEST_MAX_BYTES_BY_PATH[path] > MAX_FRAMES * MAX_UPLOAD_BYTES
    assert settings.DATA_UPLOAD_MAX_NUMBER_FILES >= MAX_FRAMES


def test_a_photo_within_the_upload_limit_is_not_refused_by_the_request_limit(settings, api_client):
    settings.REQUEST_MAX_BYTES = 1_000
    settings.REQUEST_MAX_BYTES_BY_PATH = {"/api/detections/": 3_000_000}

    with mock.patch("detection.services.process_detection.apply_async"):
        response = api_client.post(
            "/api/detections/", {"image": upload(image_bytes(size=(400, 300)))}, format="multipart"
        )

    assert response.status_code == 202, response.content
    assert Detection.objects.count() == 1


@pytest.mark.django_db
def test_many_small_files_are_refused_in_a_sentence_before_they_are_stored(spooled):
    response = browser().post("/accounts/login/", parts(40, 10))

    assert response.status_code == 400
    assert "more files than any form here takes" in response.content.decode()
    assert len(spooled) <= 20


def test_the_api_refuses_too_many_files_in_its_own_shape(api_client, spooled):
    response = api_client.post("/api/detections/", parts(40, 10), format="multipart")

    assert response.status_code == 400
    assert "more files than any form here takes" in response.json()["detail"]
    assert not Detection.objects.exists()
