"""A HEIC whose size box (`ispe`) claims fewer pixels than the picture holds: one sentence, never a 500."""

import io
import struct

import pillow_heif
from PIL import Image

from detection.images import DAMAGED
from detection.models import Detection
from tests.detection.images import upload

pillow_heif.register_heif_opener()


def heic_understating_its_size(width: int = 600, height: int = 400) -> bytes:
    """A real HEIC whose `ispe` box says half the width and height: libheif refuses to decode more than that."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (40, 160, 90)).save(buffer, format="HEIF", quality=80)
    content = bytearray(buffer.getvalue())
    box = content.find(b"ispe")
    assert box > 0 and struct.unpack(">II", content[box + 8 : box + 16]) == (width, height)
    # After the box type: a version byte and three flag bytes, then the width and height.
    content[box + 8 : box + 16] = struct.pack(">II", width // 2, height // 2)
    return bytes(content)


def test_the_api_answers_400_saying_the_file_is_damaged(api_client):
    content = heic_understating_its_size()

    response = api_client.post(
        "/api/detections/", {"image": upload(content, "photo.heic", "image/heic")}, format="multipart"
    )

    assert response.status_code == 400
    assert response.json() == {"image": [DAMAGED]}
    assert not Detection.objects.exists()


def test_the_upload_form_answers_400_with_the_same_sentence(client, user):
    client.force_login(user)

    response = client.post(
        "/detections/new", {"image": upload(heic_understating_its_size(), "photo.heic", "image/heic")}
    )

    assert response.status_code == 400
    assert DAMAGED in response.content.decode()
    assert not Detection.objects.exists()
