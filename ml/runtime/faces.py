"""Face detection, alignment and cropping for photos (no TensorFlow here).

Faces are found by MediaPipe's BlazeFace short-range detector (`ml.runtime.blazeface`,
run with LiteRT; its models ship in ml/runtime/detectors/, nothing is downloaded),
in passes that stop at the first one finding a face:

1. a wide photo (a 4:3 or 16:9 webcam frame) as overlapping squares of its
   height: a face at a quarter of the frame's height is too small for the
   128 px detector in the whole frame;
2. the whole photo, with a quarter of its longer side added around it, so a
   tight crop (a face cut by the photo's edges) is found as well as a selfie;
3. the full-range detector on the whole photo, for faces further away;
4. for a dark or flat photo, passes 1 and 2 once more on a brightened copy.

A small, nearly square photo in which none of these finds a face but
OpenCV's Haar cascade does is read whole, as a face crop (`fallback`).

Each face carries BlazeFace's eye keypoints; `crop` turns it upright with
them and frames it the way FER-2013's faces are framed.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import cv2
import numpy as np

from ml.runtime import blazeface
from ml.runtime.preprocessing import IMAGE_SIZE, resize_face, to_gray

CASCADE_FILE = "haarcascade_frontalface_default.xml"
# A detection under this BlazeFace score (a probability) is not a face.
# MediaPipe's own default is 0.5; face-free photos and textures (make
# bench-perception) gave false faces above it, real faces stay far over it.
MIN_SCORE = 0.65
# Pass 1 pads the photo by this fraction of its longer side on every side.
PHOTO_PADDING = 0.25
# Pass 2 runs when the photo is at least this much wider than high (or higher than wide).
TILE_ASPECT = 1.15
# ... and is at least this large (a smaller one is a crop, not a scene).
TILE_MIN_SIDE = 160
# Pass 4 runs on photos darker than this mean (0..255) or flatter than this standard deviation.
DARK_MEAN = 70.0
FLAT_STD = 35.0
# Boxes narrower than this fraction of the photo's shorter side are not kept.
MIN_FACE_FRACTION = 0.05
# BlazeFace's box covers the face from the brows to the chin. In FER-2013's
# 48x48 frames it is centred at (FRAME_CENTRE_X, FRAME_CENTRE_Y) of the frame
# and its width is FRAME_BOX_WIDTH of the frame's side (medians over FER-2013
# training faces upscaled 4x, `python -m ml.training.framing --calibrate --data DIR`:
# found in 586 of 700, centre 0.503, 0.564, width 0.823), so a face is
# cropped with the box at that place and size.
FRAME_BOX_WIDTH = 0.82
FRAME_CENTRE_X = 0.50
FRAME_CENTRE_Y = 0.56
# Faces are turned upright from their eye keypoints before cropping (measured
# with and without in reports/perception.md).
ALIGN = True
# Tight-crop fallback: photos this close to square may be a face crop; up to this size, one detector seeing a
# face is enough, above it both must (a profile picture cropped to the face; textures fool one of them at most).
FACE_CROP_MAX_SIDE = 256
FACE_CROP_MAX_ASPECT = 1.5
# ... and when BlazeFace finds a face this wide (of its shorter side) at this lower score.
# The crop is padded less than in pass 2: the face is then larger in the detector's input.
FALLBACK_SCORE = 0.5
FALLBACK_FACE_FRACTION = 0.4
# A larger photo is a face crop only when the face fills it.
FACE_CROP_FACE_FRACTION = 0.6
FALLBACK_PADDING = 0.1
# An image this flat (pixel standard deviation) holds no face.
BLANK_STD = 4.0
# The Haar check of a possible face crop runs on a copy padded by this
# fraction, enlarged to at least this shorter side first.
HAAR_PADDING = 0.3
HAAR_MIN_SIDE = 144


@dataclasses.dataclass(frozen=True)
class Face:
    """A face found in a photo: `box` is (x, y, w, h) in the photo's pixels.

    `score` is the detector's confidence (BlazeFace's probability; 0 for a
    fallback); `eyes` the two eye centres in pixels, left one in the image
    first (None for a fallback); `fallback` is True when a photo that
    looks like a face crop is read whole.
    """

    box: tuple[int, int, int, int]
    score: float
    fallback: bool = False
    eyes: tuple[tuple[float, float], tuple[float, float]] | None = None

    @property
    def roll(self) -> float:
        """How far the eye line is turned from level, in degrees (positive: clockwise on screen)."""
        if self.eyes is None:
            return 0.0
        (x0, y0), (x1, y1) = self.eyes
        return math.degrees(math.atan2(y1 - y0, x1 - x0))


def detect(rgb: np.ndarray, *, fallback: bool | None = None, min_score: float = MIN_SCORE) -> list[Face]:
    """Find faces in an RGB (or grayscale) photo, largest first.

    `fallback`: read a photo in which no face is detected as a face crop when
    BlazeFace at a lower score or the Haar cascade sees a face filling it;
    None (the default) allows it for nearly square photos, small ones on
    either detector's word (they are most likely already a crop), larger ones
    when both agree.
    """
    rgb = _as_rgb(rgb)
    height, width = rgb.shape[:2]
    if height == 0 or width == 0:
        return []
    gray = to_gray(rgb)
    if float(gray.std()) <= BLANK_STD:
        return []
    faces = _blazeface_faces(rgb, min_score)
    if not faces and (float(gray.mean()) < DARK_MEAN or float(gray.std()) < FLAT_STD):
        faces = _blazeface_faces(_brighten(rgb), min_score, full_range=False)
    both = False
    if fallback is None:
        fallback = _nearly_square(rgb)
        both = not looks_like_a_face_crop(rgb)
    if not faces and fallback and _looks_like_a_face(rgb, gray, both=both):
        side = min(height, width)
        faces = [Face(box=((width - side) // 2, (height - side) // 2, side, side), score=0.0, fallback=True)]
    faces.sort(key=lambda face: face.box[2] * face.box[3], reverse=True)
    return faces


def load() -> None:
    """Build the detectors now (a worker process calls this at start, not in the first user's task)."""
    blazeface.detector(blazeface.SHORT_RANGE)
    blazeface.detector(blazeface.FULL_RANGE)
    _cascade()


def looks_like_a_face_crop(rgb: np.ndarray) -> bool:
    """A small, nearly square photo is most likely already cropped to a face."""
    return max(rgb.shape[:2]) <= FACE_CROP_MAX_SIDE and _nearly_square(rgb)


def _nearly_square(rgb: np.ndarray) -> bool:
    height, width = rgb.shape[:2]
    return max(height, width) <= FACE_CROP_MAX_ASPECT * min(height, width)


def _as_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        return cv2.cvtColor(to_gray(image), cv2.COLOR_GRAY2RGB)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"A photo must be a (H, W) grayscale or (H, W, 3) RGB array, not shape {image.shape}.")
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image[:, :, :3])


def _brighten(rgb: np.ndarray) -> np.ndarray:
    """Local contrast equalised on the lightness only (CLAHE), for dark and flat photos."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    lab[:, :, 0] = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(4, 4)).apply(lab[:, :, 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def _blazeface_faces(rgb: np.ndarray, min_score: float, *, full_range: bool = True) -> list[Face]:
    height, width = rgb.shape[:2]
    short = blazeface.detector(blazeface.SHORT_RANGE)
    faces: list[Face] = []
    wide = max(height, width) >= TILE_ASPECT * min(height, width) and min(height, width) >= TILE_MIN_SIDE
    if wide:
        # Squares of the shorter side, overlapping by half: each face narrower than half
        # the frame's height lies whole in one of them, at least twice as large as in
        # the whole frame.
        side, long_side = min(height, width), max(height, width)
        starts = np.linspace(0, long_side - side, max(2, math.ceil(2 * long_side / side) - 1)).round().astype(int)
        for start in starts:
            x, y = (int(start), 0) if width > height else (0, int(start))
            faces += _run(short, rgb[y : y + side, x : x + side], min_score, pad=0.0, origin=(x, y))
        faces = _without_duplicates(faces)
    if not faces:
        faces = _run(short, rgb, min_score, pad=PHOTO_PADDING)
    if not faces and full_range:
        faces = _run(blazeface.detector(blazeface.FULL_RANGE), rgb, min_score, pad=0.0)
    min_side = MIN_FACE_FRACTION * min(height, width)
    return [face for face in faces if face.box[2] >= min_side]


def _without_duplicates(faces: list[Face]) -> list[Face]:
    """The surest of each group of overlapping faces (the same face seen in two squares)."""
    kept: list[Face] = []
    for face in sorted(faces, key=lambda face: face.score, reverse=True):
        if not any(_overlaps(face, other) for other in kept):
            kept.append(face)
    return kept


def _run(
    detector: blazeface.Detector, rgb: np.ndarray, min_score: float, *, pad: float, origin: tuple[int, int] = (0, 0)
) -> list[Face]:
    height, width = rgb.shape[:2]
    square, (scale_x, scale_y, offset_x, offset_y) = blazeface.letterbox(rgb, detector.model.size, pad)
    faces = []
    for row in detector.detect(square, min_score):
        # xmin, xmax, then the six keypoints' x (ys alike), in the photo's pixels.
        xs = row[1::2] * scale_x - offset_x + origin[0]
        ys = row[2::2] * scale_y - offset_y + origin[1]
        left, right = max(0.0, float(xs[0])), min(float(width + origin[0]), float(xs[1]))
        top, bottom = max(0.0, float(ys[0])), min(float(height + origin[1]), float(ys[1]))
        if right - left < 2 or bottom - top < 2:
            continue
        eyes = sorted([(float(xs[2]), float(ys[2])), (float(xs[3]), float(ys[3]))])
        box = (round(left), round(top), round(right - left), round(bottom - top))
        faces.append(Face(box=box, score=float(row[0]), eyes=(eyes[0], eyes[1])))
    return faces


def _overlaps(face: Face, other: Face) -> bool:
    a, b = face.box, other.box
    across = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    down = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return across * down > 0.3 * min(a[2] * a[3], b[2] * b[3])


def _looks_like_a_face(rgb: np.ndarray, gray: np.ndarray, *, both: bool = False) -> bool:
    """Whether a photo in which no face was detected is still a face crop.

    Yes when BlazeFace sees a large face at a lower score, with less padding
    (a tiny, twice compressed crop scores lower), or the Haar cascade, enlarged
    to its 24 px window, sees one; with `both`, when the two agree.
    """
    height, width = gray.shape
    weak = _run(blazeface.detector(blazeface.SHORT_RANGE), rgb, FALLBACK_SCORE, pad=FALLBACK_PADDING)
    fraction = FACE_CROP_FACE_FRACTION if both else FALLBACK_FACE_FRACTION
    blazeface_sees = any(face.box[2] >= fraction * min(height, width) for face in weak)
    if blazeface_sees and not both:
        return True
    if not blazeface_sees and both:
        return False
    scale = HAAR_MIN_SIDE / min(gray.shape)
    if scale > 1:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return bool(_raw_boxes(gray, 0.1))


@functools.cache
def _cascade() -> cv2.CascadeClassifier:
    classifier = cv2.CascadeClassifier(cv2.data.haarcascades + CASCADE_FILE)
    if classifier.empty():
        raise RuntimeError(f"OpenCV's {CASCADE_FILE} could not be loaded; reinstall opencv-python-headless 4.x.")
    return classifier


def _raw_boxes(gray: np.ndarray, min_face_fraction: float) -> list[tuple[float, float, float, float, float]]:
    """Haar cascade boxes on a padded, equalised copy, as (left, top, right, bottom, weight) in the photo's pixels."""
    height, width = gray.shape
    pad = round(HAAR_PADDING * max(height, width))
    fill = int(np.median(gray))
    padded = cv2.equalizeHist(cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=fill))
    min_side = max(24, round(min_face_fraction * min(height, width)))
    boxes, _levels, weights = _cascade().detectMultiScale3(
        padded, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side), outputRejectLevels=True
    )
    return [
        (x - pad, y - pad, x + w - pad, y + h - pad, float(weight))
        for (x, y, w, h), weight in zip(np.asarray(boxes).reshape(-1, 4), np.asarray(weights).reshape(-1), strict=True)
    ]


def crop(
    rgb: np.ndarray, box: tuple[int, int, int, int] | Face, size: int = IMAGE_SIZE, *, align: bool | None = None
) -> np.ndarray:
    """The grayscale size x size face the classifier expects, upright and framed as FER-2013's faces are.

    A fallback face (a whole tight crop) is used as it is. A detected box is
    placed in the frame where FER-2013's faces sit, turned so the eyes are
    level when `align`; the frame is filled with the edge pixels where it
    leaves the photo. `align` None: as ALIGN says.
    """
    gray = to_gray(rgb)
    face = box if isinstance(box, Face) else Face(box=tuple(box), score=0.0)
    x, y, w, h = face.box
    if face.fallback:
        side, centre_x, centre_y = float(max(w, h)), x + w / 2, y + h / 2
    else:
        side = max(w, h) / FRAME_BOX_WIDTH
        centre_x = x + w / 2 + (0.5 - FRAME_CENTRE_X) * side
        centre_y = y + h / 2 + (0.5 - FRAME_CENTRE_Y) * side
    angle = face.roll if (ALIGN if align is None else align) else 0.0
    # Work at twice the output size: rotating and resampling there, then
    # averaging down, keeps the detail FER-2013's own downscaling keeps.
    work = 2 * size
    reach = math.ceil(side * math.sqrt(2) / 2) + 1  # the rotated frame fits in this square around the centre
    left, top = round(centre_x) - reach, round(centre_y) - reach
    window = _window(gray, left, top, 2 * reach)
    scale = work / side
    matrix = cv2.getRotationMatrix2D((centre_x - left, centre_y - top), angle, scale)
    matrix[:, 2] += (work / 2 - (centre_x - left), work / 2 - (centre_y - top))
    if scale < 0.5:
        # Average down first: warpAffine's bilinear sampling would alias a large face.
        shrink = 2 * scale
        window = cv2.resize(window, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
        matrix[:, :2] /= shrink
    upright = cv2.warpAffine(window, matrix, (work, work), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return resize_face(upright, size)


def _window(gray: np.ndarray, left: int, top: int, side: int) -> np.ndarray:
    """gray[top:top+side, left:left+side], with edge pixels repeated where it leaves the image."""
    height, width = gray.shape
    pad_left, pad_top = max(0, -left), max(0, -top)
    pad_right, pad_bottom = max(0, left + side - width), max(0, top + side - height)
    inside = gray[max(0, top) : min(height, top + side), max(0, left) : min(width, left + side)]
    if pad_left or pad_top or pad_right or pad_bottom:
        inside = cv2.copyMakeBorder(inside, pad_top, pad_bottom, pad_left, pad_right, cv2.BORDER_REPLICATE)
    return inside
