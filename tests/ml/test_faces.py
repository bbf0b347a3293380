import cv2
import numpy as np
import pytest

from ml.runtime import faces
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


def test_a_texture_is_not_read_as_a_face_crop_even_when_small_and_square():
    # The tight-crop fallback takes a small square photo whole only when it looks like a face.
    texture = cv2.resize(np.random.default_rng(0).integers(0, 256, (12, 12), np.uint8), (200, 200))
    assert faces.detect(texture) == []
    assert faces.detect(texture, fallback=True) == []


@pytest.mark.parametrize(("name", "inner"), [("happy_1.jpg", 0.7), ("happy_1.jpg", 0.8)])
def test_a_larger_tight_crop_the_detectors_miss_is_read_whole(name, inner):
    """A profile picture cut to the face, brows to chin (as in press photo sets): 350 px, no margin."""
    rgb = _rgb(FACE_PHOTOS / name)
    x, y, w, h = faces.detect(rgb)[0].box
    dx, dy = round(w * (1 - inner) / 2), round(h * (1 - inner) / 2)
    tight = cv2.resize(rgb[y + dy : y + h - dy, x + dx : x + w - dx], (350, 350), interpolation=cv2.INTER_CUBIC)
    assert faces.detect(tight, fallback=False) == []  # what makes it a fallback case

    found = faces.detect(tight)

    assert len(found) == 1 and found[0].fallback and found[0].box == (0, 0, 350, 350)


def test_a_larger_square_texture_is_not_read_as_a_face_crop():
    rng = np.random.default_rng(5)
    for side in (300, 420, 640):
        texture = cv2.resize(rng.integers(0, 256, (10, 10, 3), np.uint8), (side, side), interpolation=cv2.INTER_CUBIC)
        assert faces.detect(texture) == []


def test_a_36x50_face_crop_is_read():
    rgb = _rgb(FACE_PHOTOS / "neutral_1.jpg")
    x, y, w, h = faces.detect(rgb)[0].box
    tight = cv2.resize(rgb[y : y + h, x : x + w], (36, 50), interpolation=cv2.INTER_AREA)

    found = faces.detect(tight)

    assert len(found) == 1
    cropped = faces.crop(tight, found[0])
    assert cropped.shape == (48, 48) and cropped.std() > 10


def _scene(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A room-like backdrop: smooth colour blotches and a few hard-edged shapes."""
    coarse = rng.uniform(30, 220, (6, 8, 3)).astype(np.float32)
    scene = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = int(rng.integers(20, height // 2))
        cv2.rectangle(scene, (x0, y0), (x0 + size, y0 + size), rng.uniform(0, 255, 3).tolist(), -1)
    return np.clip(scene, 0, 255).astype(np.uint8)


def _in_a_webcam_frame(rgb: np.ndarray, *, frame: tuple[int, int], height_fraction: float, angle: float, seed: int):
    """The photo scaled to a fraction of the frame's height, turned by `angle`, pasted on a scene; and its centre."""
    width, height = frame
    rng = np.random.default_rng(seed)
    scale = height_fraction * height / rgb.shape[0]
    photo = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    centre = (rng.uniform(0.35, 0.65) * width, rng.uniform(0.4, 0.6) * height)
    matrix = cv2.getRotationMatrix2D((photo.shape[1] / 2, photo.shape[0] / 2), angle, 1.0)
    matrix[:, 2] += (centre[0] - photo.shape[1] / 2, centre[1] - photo.shape[0] / 2)
    placed = cv2.warpAffine(photo, matrix, frame)
    inside = cv2.warpAffine(np.full(photo.shape[:2], 255, np.uint8), matrix, frame) > 0
    scene = _scene(rng, width, height)
    scene[inside] = placed[inside]
    return scene, centre


@pytest.mark.parametrize("path", PHOTOS, ids=lambda p: p.name)
def test_fixture_faces_in_webcam_frames_turned_20_degrees_are_found(path):
    index = PHOTOS.index(path)
    frame_size = ((640, 480), (1280, 720))[index % 2]
    angle = 20.0 if index % 4 < 2 else -20.0
    frame, (centre_x, centre_y) = _in_a_webcam_frame(
        _rgb(path), frame=frame_size, height_fraction=0.6, angle=angle, seed=index
    )

    found = faces.detect(frame)

    assert found, f"no face found in {path.name} framed at {frame_size}"
    x, y, w, h = found[0].box
    assert abs(x + w / 2 - centre_x) < 0.3 * frame_size[1] and abs(y + h / 2 - centre_y) < 0.3 * frame_size[1]
    assert not found[0].fallback
    # The eyes say how far the face is turned (on screen, a positive angle turns it anticlockwise).
    assert found[0].roll == pytest.approx(faces.detect(_rgb(path))[0].roll - angle, abs=10)


def test_crop_turns_a_tilted_face_upright():
    rgb = _rgb(FACE_PHOTOS / "happy_1.jpg")
    upright = faces.crop(rgb, faces.detect(rgb)[0])
    matrix = cv2.getRotationMatrix2D((175, 175), 25, 1.0)
    tilted = cv2.warpAffine(rgb, matrix, (350, 350), borderMode=cv2.BORDER_REPLICATE)
    face = faces.detect(tilted)[0]

    aligned = faces.crop(tilted, face).astype(np.float32)
    not_aligned = faces.crop(tilted, face, align=False).astype(np.float32)

    def distance(a):
        return float(np.abs(a - upright.astype(np.float32)).mean())

    assert distance(aligned) < 0.8 * distance(not_aligned)


def test_face_free_scenes_have_no_face():
    rng = np.random.default_rng(3)
    stripes = np.tile((127 + 100 * np.sin(np.arange(640) / 6))[None, :, None], (480, 1, 3)).astype(np.uint8)
    for image in (_scene(rng, 640, 480), _scene(rng, 1280, 720), _scene(rng, 160, 160), stripes):
        assert faces.detect(image) == []


def test_crop_gives_the_classifier_a_48x48_gray_face_even_at_the_edge():
    rgb = _rgb(FACE_PHOTOS / "angry_2.jpg")
    face = faces.detect(rgb)[0]

    cropped = faces.crop(rgb, face)
    at_edge = faces.crop(rgb, (0, 0, 100, 100))

    assert cropped.shape == (48, 48) and cropped.dtype == np.uint8
    assert at_edge.shape == (48, 48)
    assert cropped.std() > 10
