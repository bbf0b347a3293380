"""detection.images: HEIC, the size floor, and the memory a decode may take."""

import io
import struct
import threading
import time
import tracemalloc
import zlib

import numpy as np
import pillow_heif
import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from detection import images
from detection.images import photo_normalise

pillow_heif.register_heif_opener()

ORIENTATION = 0x0112


def normalise(content: bytes) -> images.NormalisedPhoto:
    return photo_normalise(io.BytesIO(content), size=len(content))


def refusal(content: bytes) -> str:
    with pytest.raises(ValidationError) as refused:
        normalise(content)
    messages = refused.value.message_dict["image"]
    assert len(messages) == 1
    return messages[0]


def decoded(photo: images.NormalisedPhoto) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(photo.jpeg)).convert("RGB")).astype(int)


def upright_picture(width: int = 60, height: int = 80) -> Image.Image:
    """Red on top, blue below: which way up it is shows at a glance."""
    picture = Image.new("RGB", (width, height), (0, 0, 255))
    picture.paste((255, 0, 0), (0, 0, width, height // 2))
    return picture


def iphone_heic(upright: Image.Image) -> bytes:
    """As an iPhone held upright stores it: the sensor's landscape pixels, EXIF orientation 6 (turn 90° clockwise)."""
    sensor = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    buffer = io.BytesIO()
    sensor.save(buffer, format="HEIF", exif=exif.tobytes(), quality=90)
    return buffer.getvalue()


def png_header(width: int, height: int, *, color_type: int, bit_depth: int = 8) -> bytes:
    """A PNG whose header claims width x height but that carries almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


class TestHeic:
    def test_an_iphone_photo_is_read_upright(self):
        content = iphone_heic(upright_picture())
        assert Image.open(io.BytesIO(content)).format == "HEIF"

        photo = normalise(content)

        assert (photo.width, photo.height) == (60, 80)
        pixels = decoded(photo)
        assert pixels[10, 30].tolist() == pytest.approx([255, 0, 0], abs=40)  # top: red
        assert pixels[70, 30].tolist() == pytest.approx([0, 0, 255], abs=40)  # bottom: blue

    def test_the_stored_copy_is_a_jpeg_without_the_exif(self):
        photo = normalise(iphone_heic(upright_picture()))

        stored = Image.open(io.BytesIO(photo.jpeg))
        assert stored.format == "JPEG"
        assert ORIENTATION not in stored.getexif()

    def test_the_pixel_limit_is_checked_from_the_header(self, monkeypatch):
        content = iphone_heic(upright_picture())
        monkeypatch.setattr(images, "MAX_PIXELS", 1000)
        loads = []
        monkeypatch.setattr(Image.Image, "load", lambda image: loads.append(image))

        message = refusal(content)

        assert message.startswith("This photo is 60x80 pixels")
        assert loads == []  # refused before a single pixel was decoded

    def test_a_decompression_bomb_is_refused_before_decoding(self, monkeypatch):
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)

        assert refusal(iphone_heic(upright_picture())).startswith("This image has far too many pixels")

    def test_a_damaged_heic_says_so(self):
        content = iphone_heic(upright_picture(200, 200))

        message = refusal(content[: len(content) // 2])

        assert message.startswith(("This image file is damaged", "This file is not a photo we can read"))


class TestSmallPhotos:
    @pytest.mark.parametrize("size", [(32, 32), (36, 50), (48, 48)])
    def test_from_32_pixels_a_side_a_photo_is_accepted(self, size):
        photo = normalise(_png(upright_picture(*size)))

        assert (photo.width, photo.height) == size

    @pytest.mark.parametrize("size", [(31, 64), (64, 31), (1, 1), (20, 20)])
    def test_below_32_pixels_one_sentence_says_so(self, size):
        message = refusal(_png(upright_picture(*size)))

        width, height = size
        assert message == (
            f"This image is only {width}x{height} pixels, too small to read a face in: please upload a photo at "
            "least 32 pixels on each side."
        )
        assert message.count(". ") == 0 and message.endswith(".")


def _png(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()


class TestDecodeMemory:
    def test_the_red_team_png_is_refused_from_its_header(self, monkeypatch):
        """6300x6300 RGBA, 165 KB: 160 MB decoded, under the 40 MP cap; eight at once took 5.7 GB."""
        loads = []
        monkeypatch.setattr(Image.Image, "load", lambda image: loads.append(image))

        message = refusal(png_header(6300, 6300, color_type=6))

        assert message.startswith("This PNG image is 6300x6300 pixels (40 megapixels), more than the 34 megapixels")
        assert message.endswith("please upload a smaller photo or a JPEG.")
        assert loads == []

    def test_a_large_grey_png_within_the_budget_is_still_accepted(self):
        content = _png(Image.new("L", (6000, 6000), 128))

        photo = normalise(content)

        assert (photo.width, photo.height) == (2048, 2048)

    def test_a_16_bit_grey_png_costs_a_fraction_of_its_float_copy(self):
        ramp = (np.arange(3000 * 3000, dtype=np.uint32) % 65536).astype(np.uint16).reshape(3000, 3000)
        content = _png(Image.fromarray(ramp))

        tracemalloc.start()
        try:
            photo = normalise(content)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

        assert (photo.width, photo.height) == (2048, 2048)
        # NumPy's allocations are traced: the float64 copy alone was 72 MB.
        assert peak < 40 * 2**20, peak

    def test_a_large_rgba_png_is_scaled_down_before_its_alpha_is_flattened(self, monkeypatch):
        sizes = []
        real_composite = Image.alpha_composite
        monkeypatch.setattr(
            Image, "alpha_composite", lambda base, top: sizes.append(top.size) or real_composite(base, top)
        )
        content = _png(Image.new("RGBA", (5000, 4500), (255, 0, 0, 128)))

        photo = normalise(content)

        assert sizes == [(2500, 2250)]
        assert (photo.width, photo.height) == (2048, 1843)
        assert decoded(photo)[900, 1000].tolist() == pytest.approx([255, 127, 127], abs=4)

    def test_a_large_jpeg_is_decoded_scaled_down(self):
        buffer = io.BytesIO()
        Image.new("RGB", (7000, 5000), (10, 200, 30)).save(buffer, format="JPEG")

        photo = normalise(buffer.getvalue())

        # Decoded at a quarter of its size by the JPEG decoder itself, no less than two thirds of the stored size.
        assert (photo.width, photo.height) == (1750, 1250)

    def test_decodes_in_one_process_wait_for_a_free_slot(self, monkeypatch):
        monkeypatch.setattr(images, "_decode_slots", threading.BoundedSemaphore(2))
        running, most = [0], [0]
        lock = threading.Lock()
        real = images._normalise_opened

        def slow(image, **options):
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= 1
            return real(image, **options)

        monkeypatch.setattr(images, "_normalise_opened", slow)
        content = _png(upright_picture())
        threads = [threading.Thread(target=normalise, args=(content,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert most[0] == 2
