import cv2
import numpy as np
import pytest

from ml import faces
from tests.ml.conftest import FACE_PHOTOS

PHOTOS = sorted(FACE_PHOTOS.glob("*.jpg"))


def _rgb(path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize("path", PHOTOS[::3], ids=lambda p: p.name)
def test_detect_finds_the_face_in_a_photo(path):
    rgb = _rgb(path)
    found = faces.detect(rgb)

    assert found, f"no face found in {path.name}"
    x, y, w, h = found[0].box
    height, width = rgb.shape[:2]
    assert x >= 0 and y >= 0 and x + w <= width and y + h <= height
    assert w * h > 0.2 * width * height  # these photos are portraits
    assert not found[0].fallback and found[0].score > 0


def test_a_tight_face_crop_is_still_found():
    rgb = _rgb(FACE_PHOTOS / "happy_1.jpg")
    (x, y, w, h) = faces.detect(rgb)[0].box
    tight = rgb[y : y + h, x : x + w]
    assert faces.detect(tight)


def test_faces_come_largest_first():
    small = cv2.resize(_rgb(FACE_PHOTOS / "happy_1.jpg"), (150, 150))
    big = _rgb(FACE_PHOTOS / "sad_2.jpg")
    canvas = np.full((400, 800, 3), 128, np.uint8)
    canvas[20:170, 20:170] = small
    canvas[30:380, 400:750] = big

    found = faces.detect(canvas)

    assert len(found) == 2
    assert found[0].box[0] >= 380 and found[1].box[0] < 200


def test_a_blank_image_has_no_face_even_with_fallback():
    blank = np.full((300, 300, 3), 200, np.uint8)
    assert faces.detect(blank) == []
    assert faces.detect(blank, fallback=True) == []


def test_fallback_gives_the_central_square_flagged():
    texture = np.random.default_rng(0).integers(0, 256, (120, 200), np.uint8)
    found = faces.detect(texture, fallback=True)
    assert found == [faces.Face(box=(40, 0, 120, 120), score=0.0, fallback=True)]
    assert faces.detect(texture) == []


def test_crop_gives_the_classifier_a_48x48_gray_face_even_at_the_edge():
    rgb = _rgb(FACE_PHOTOS / "angry_2.jpg")
    face = faces.detect(rgb)[0]

    cropped = faces.crop(rgb, face)
    at_edge = faces.crop(rgb, (0, 0, 100, 100))

    assert cropped.shape == (48, 48) and cropped.dtype == np.uint8
    assert at_edge.shape == (48, 48)
    assert cropped.std() > 10
