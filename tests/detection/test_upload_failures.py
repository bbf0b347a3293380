"""An upload when the photo storage cannot take it: a 503 that says so, and nothing kept."""

import pytest

from detection.models import Detection
from tests.detection.images import image_bytes, upload


@pytest.fixture
def unwritable_media(settings, tmp_path):
    # Root ignores permission bits, so the storage is put under a plain file: every write fails with an OSError.
    blocker = tmp_path / "not-a-directory"
    blocker.write_bytes(b"")
    settings.MEDIA_ROOT = blocker / "media"


def test_the_api_answers_503_saying_the_photo_was_not_saved(api_client, unwritable_media):
    response = api_client.post("/api/detections/", {"image": upload(image_bytes())}, format="multipart")

    assert response.status_code == 503
    assert response.json() == {
        "detail": "We can't store photos right now, so your photo was not saved. Please try again later."
    }
    assert not Detection.objects.exists()


def test_the_form_answers_503_with_the_same_sentence(client, user, unwritable_media):
    client.force_login(user)

    response = client.post("/detections/new", {"image": upload(image_bytes())})

    assert response.status_code == 503
    assert "your photo was not saved" in response.content.decode()
    assert "Nothing you sent was lost" not in response.content.decode()
    assert not Detection.objects.exists()
