import cv2
import numpy as np
import pytest
from PIL import Image

from ml.runtime.quality import photo_hints

from .conftest import FACE_PHOTOS


@pytest.fixture(scope="module")
def sharp_face():
    """A real face photo and the box the worker's face finder gives it."""
    from ml.runtime import faces

    rgb = np.asarray(Image.open(FACE_PHOTOS / "happy_1.jpg").convert("RGB"))
    return rgb, faces.detect(rgb)[0].box


def test_a_clear_well_lit_face_gets_no_hint(sharp_face):
    rgb, box = sharp_face
    assert min(box[2], box[3]) >= 48
    assert photo_hints(rgb, box) == []


def test_a_face_under_48_px_is_small(sharp_face):
    rgb, box = sharp_face
    scale = 40 / min(box[2], box[3])
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)

    assert photo_hints(small, [value * scale for value in box]) == ["small_face"]


def test_a_dark_photo_is_dark(sharp_face):
    rgb, box = sharp_face
    dark = (rgb.astype(np.float32) * 0.2).astype(np.uint8)

    assert "dark" in photo_hints(dark, box)


def test_a_blurred_face_is_blurred(sharp_face):
    rgb, box = sharp_face
    sigma = 3 * min(box[2], box[3]) / 96  # sigma 3 px at the scale the measure reads
    blurred = cv2.GaussianBlur(rgb, (0, 0), sigmaX=sigma)

    assert photo_hints(blurred, box) == ["blurred"]


def test_a_box_outside_the_photo_gives_only_what_its_size_says():
    rgb = np.full((60, 60, 3), 128, np.uint8)
    assert photo_hints(rgb, (100, 100, 30, 30)) == ["small_face"]
    assert photo_hints(rgb, (100, 100, 60, 60)) == []
