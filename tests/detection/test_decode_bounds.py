"""detection.images: the web process never decodes without a bound on time and memory.

The files are the red team's, built here: a progressive JPEG whose last refinement scan is repeated
(each copy costs a full pass over the coefficients), a progressive 4:4:4 JPEG whose coefficient
buffers alone pass the decode budget, and a HEIC whose decoded planes do. The CPU time and the
memory a refusal costs are measured from the outside: the photo is checked in a child Python process
that reports its own resource usage.
"""

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image

from detection.images import MAX_JPEG_SCANS
from detection.models import Detection
from tests.detection.images import upload

pillow_heif.register_heif_opener()

ROOT = Path(__file__).resolve().parents[2]

# Runs photo_normalise on one file and prints what it cost: CPU seconds, and how far the peak resident
# memory rose above what the imports had already taken.
_CHILD = """
import json, resource, sys
import django
django.setup()
from django.core.exceptions import ValidationError
from detection.images import photo_normalise

def used():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024

with open(sys.argv[1], "rb") as photo:
    content = photo.read()
cpu_before, peak_before = used()
try:
    photo_normalise(__import__("io").BytesIO(content), size=len(content))
    outcome = {"accepted": True}
except ValidationError as error:
    outcome = {"accepted": False, "codes": [e.code for e in error.error_dict["image"]], "messages": error.messages}
cpu_after, peak_after = used()
print(json.dumps({**outcome, "cpu_s": cpu_after - cpu_before, "added_bytes": peak_after - peak_before}))
"""


def checked_in_a_child(content: bytes, tmp_path: Path) -> dict:
    path = tmp_path / "photo"
    path.write_bytes(content)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "emomusic_site.settings", "DJANGO_ENV": "test"}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def assert_refused_for_its_size(checked: dict, *, mentioning: str) -> None:
    """Refused as too many pixels, with a message naming why, before the decoder took much memory."""
    assert checked["accepted"] is False
    assert checked["codes"] == ["too_many_pixels"]
    assert mentioning in checked["messages"][0]
    assert checked["added_bytes"] < 32 * 1024 * 1024


def progressive_jpeg(size: tuple[int, int], mode: str = "L", **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, 128 if mode == "L" else (128, 128, 128)).save(buffer, format="JPEG", progressive=True, **save)
    return buffer.getvalue()


def with_last_scan_repeated(jpeg: bytes, copies: int) -> bytes:
    """The JPEG with its last refinement scan (its Huffman table and the scan) repeated before EOI."""
    last_scan = jpeg.rindex(b"\xff\xda")
    block_start = jpeg.rindex(b"\xff\xc4", 0, last_scan)
    end = jpeg.rindex(b"\xff\xd9")
    return jpeg[:end] + jpeg[block_start:end] * copies + jpeg[end:]


def scans_in(jpeg: bytes) -> int:
    return len(re.findall(rb"\xff\xda", jpeg))


class TestScanBomb:
    def test_a_jpeg_with_hundreds_of_scans_is_refused_at_almost_no_cost(self, tmp_path):
        bomb = with_last_scan_repeated(progressive_jpeg((4000, 4000)), 300)
        assert len(bomb) < 100_000 and scans_in(bomb) > 300

        checked = checked_in_a_child(bomb, tmp_path)

        assert checked["accepted"] is False
        assert checked["codes"] == ["too_many_scans"]
        # Decoding it took seconds; the refusal reads the markers only.
        assert checked["cpu_s"] < 0.5
        assert checked["added_bytes"] < 32 * 1024 * 1024

    def test_the_api_answers_400_in_a_sentence(self, api_client):
        bomb = with_last_scan_repeated(progressive_jpeg((400, 400)), MAX_JPEG_SCANS)

        response = api_client.post("/api/detections/", {"image": upload(bomb)}, format="multipart")

        assert response.status_code == 400
        [message] = response.json()["image"]
        assert message.startswith(f"This JPEG is stored in more than {MAX_JPEG_SCANS} passes")
        assert not Detection.objects.exists()

    def test_a_progressive_photo_from_a_camera_or_browser_is_accepted(self, api_client):
        photo = progressive_jpeg((1200, 900), "RGB")
        assert 4 <= scans_in(photo) <= MAX_JPEG_SCANS

        response = api_client.post("/api/detections/", {"image": upload(photo)}, format="multipart")

        assert response.status_code == 202, response.content
        assert Detection.objects.count() == 1

    def test_a_scan_count_hidden_in_the_exif_thumbnail_does_not_count(self, tmp_path):
        # Markers inside a segment (an EXIF thumbnail is a whole JPEG) are data, not the photo's scans.
        thumbnail = with_last_scan_repeated(progressive_jpeg((64, 64)), 50)
        exif = Image.Exif()
        image = Image.new("RGB", (300, 200), (90, 90, 90))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", exif=exif.tobytes() + thumbnail)

        checked = checked_in_a_child(buffer.getvalue(), tmp_path)

        assert checked["accepted"] is True


class TestDecodeMemory:
    def test_a_progressive_444_jpeg_is_refused_for_its_coefficient_buffers(self, tmp_path):
        # 6300x6300, three full-size components: libjpeg keeps 2 bytes per coefficient, 238 MB.
        jpeg = progressive_jpeg((6300, 6300), "RGB", subsampling=0, quality=80)
        assert len(jpeg) < 1_000_000

        checked = checked_in_a_child(jpeg, tmp_path)

        assert_refused_for_its_size(checked, mentioning="megapixels")
        assert checked["cpu_s"] < 0.5

    def test_a_progressive_phone_photo_fits_the_budget(self, tmp_path):
        # 12 MP, 4:2:0 as phones save them: 36 MB of coefficients.
        jpeg = progressive_jpeg((4000, 3000), "RGB", quality=80)

        checked = checked_in_a_child(jpeg, tmp_path)

        assert checked["accepted"] is True
        assert checked["added_bytes"] < 128 * 1024 * 1024

    def test_a_20_megapixel_heic_is_refused_from_its_declared_size(self, tmp_path):
        buffer = io.BytesIO()
        Image.new("RGB", (5000, 4000), (128, 128, 128)).save(
            buffer, format="HEIF", quality=10, enc_params={"preset": "ultrafast"}
        )
        heic = buffer.getvalue()
        assert len(heic) < 50_000

        checked = checked_in_a_child(heic, tmp_path)

        assert_refused_for_its_size(checked, mentioning="HEIC")

    @pytest.mark.parametrize("size", [(4032, 3024)])
    def test_a_12_megapixel_iphone_heic_is_accepted(self, size, tmp_path):
        buffer = io.BytesIO()
        Image.new("RGB", size, (128, 128, 128)).save(
            buffer, format="HEIF", quality=10, enc_params={"preset": "ultrafast"}
        )

        checked = checked_in_a_child(buffer.getvalue(), tmp_path)

        assert checked["accepted"] is True
        assert checked["added_bytes"] < 128 * 1024 * 1024
