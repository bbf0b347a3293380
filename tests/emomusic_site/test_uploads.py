"""The upload cap: a file past UPLOAD_MAX_FILE_BYTES reaches the view by size only, and nothing of it stays on disk."""

from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.test import RequestFactory

from catalog.admin import MAX_IMPORT_BYTES
from detection.images import MAX_UPLOAD_BYTES
from detection.models import Detection
from detection.tasks import process_detection
from emomusic_site.uploads import OversizedUpload
from tests.detection.images import image_bytes, upload


@pytest.fixture
def spool_dir(settings, tmp_path):
    """Temporary uploads go here, and every file goes to disk rather than memory."""
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    return tmp_path


def parse(data: dict):
    request = RequestFactory().post("/anywhere/", data)
    return request, request.POST, request.FILES


def test_the_cap_is_at_least_every_forms_own_limit(settings):
    assert max(MAX_UPLOAD_BYTES, MAX_IMPORT_BYTES) <= settings.UPLOAD_MAX_FILE_BYTES
    assert settings.FILE_UPLOAD_HANDLERS[0] == "emomusic_site.uploads.CappedUploadHandler"


def test_a_file_past_the_cap_arrives_by_size_only_and_leaves_no_temporary_file(settings, spool_dir):
    settings.UPLOAD_MAX_FILE_BYTES = 100_000
    stored_sizes = []
    store = TemporaryFileUploadHandler.receive_data_chunk

    def receive_data_chunk(self, raw_data, start):
        stored_sizes.append(len(raw_data))
        return store(self, raw_data, start)

    with mock.patch.object(TemporaryFileUploadHandler, "receive_data_chunk", receive_data_chunk):
        _, post, files = parse({"note": "kept", "image": SimpleUploadedFile("big.jpg", b"x" * 300_000, "image/jpeg")})

    image = files["image"]
    assert isinstance(image, OversizedUpload)
    assert (image.name, image.size, image.content_type) == ("big.jpg", 300_000, "image/jpeg")
    assert image.read() == b""
    assert post["note"] == "kept"  # the fields around the file are read as usual
    assert sum(stored_sizes) <= 100_000
    assert list(spool_dir.iterdir()) == []


def test_a_file_within_the_cap_is_stored_whole(settings, spool_dir):
    settings.UPLOAD_MAX_FILE_BYTES = 100_000
    content = bytes(range(256)) * 300

    _, _, files = parse({"image": SimpleUploadedFile("ok.jpg", content, "image/jpeg")})

    image = files["image"]
    assert isinstance(image, TemporaryUploadedFile)
    assert image.size == len(content) and image.read() == content


@pytest.mark.django_db
def test_a_photo_past_the_cap_gets_the_photo_limits_sentence(api_client, spool_dir):
    content = image_bytes() + b"\0" * 52_000_000
    megabytes = len(content) / (1024 * 1024)

    with mock.patch.object(process_detection, "apply_async") as publish:
        response = api_client.post("/api/detections/", {"image": upload(content, "huge.jpg")}, format="multipart")

    assert response.status_code == 400
    assert response.json() == {
        "image": [f"This file is {megabytes:.1f} MB, larger than the 10 MB limit. Please choose a smaller photo."]
    }
    assert not Detection.objects.exists()
    assert list(spool_dir.iterdir()) == []
    publish.assert_not_called()
