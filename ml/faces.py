"""Face detection and cropping for photos, with OpenCV's Haar cascade (no TensorFlow here).

The cascade's weights ship inside `opencv-python-headless` 4.x
(`cv2.data.haarcascades`), so nothing is downloaded at run time.
"""

from __future__ import annotations

import dataclasses
import functools

import cv2
import numpy as np

from ml.preprocessing import IMAGE_SIZE, resize_face, to_gray

CASCADE_FILE = "haarcascade_frontalface_default.xml"
# Detection runs on a copy whose longer side is at most this many pixels: the
# cascade's cost grows with the area, and faces in a selfie stay far larger
# than its 24-pixel window at that size.
DETECTION_SIDE = 640
# Padding added around the photo before detecting, as a fraction of its sides:
# a photo that is already a tight face crop has no background around the face,
# and the cascade only finds faces whose window fits inside the image.
DETECTION_PADDING = 0.3
# FER-2013's faces are tight: in its 48x48 frames OpenCV's cascade box is
# centred and covers about 96% of each side (median over 473 detections on
# 700 upscaled training images, `python -m ml.faces --calibrate --data DIR`),
# so a detected box is widened by only this fraction of its size on every
# side to frame a photo's face the way the training faces are framed.
CROP_MARGIN = 0.02
# An image this flat (pixel standard deviation) holds no face: no fallback crop.
BLANK_STD = 4.0


@dataclasses.dataclass(frozen=True)
class Face:
    """A face found in a photo: `box` is (x, y, w, h) in the photo's pixels.

    `score` is the cascade's confidence (its level weight: higher is surer,
    not a probability); `fallback` is True for the central crop returned when
    nothing was detected in a photo that looks like a tight face crop.
    """

    box: tuple[int, int, int, int]
    score: float
    fallback: bool = False


@functools.cache
def _cascade() -> cv2.CascadeClassifier:
    classifier = cv2.CascadeClassifier(cv2.data.haarcascades + CASCADE_FILE)
    if classifier.empty():
        raise RuntimeError(f"OpenCV's {CASCADE_FILE} could not be loaded; reinstall opencv-python-headless 4.x.")
    return classifier


def detect(rgb: np.ndarray, *, fallback: bool = False, min_face_fraction: float = 0.1) -> list[Face]:
    """Find faces in an RGB (or grayscale) photo, largest first.

    Detection runs on a padded, downscaled grayscale copy, so tight face crops
    are found too. With `fallback=True`, a photo in which nothing is detected
    but which is not blank yields its central square, flagged `fallback`.
    """
    gray = to_gray(rgb)
    height, width = gray.shape
    if height == 0 or width == 0:
        return []
    faces = []
    for left, top, right, bottom, weight in _raw_boxes(gray, min_face_fraction):
        left, top = max(0.0, left), max(0.0, top)
        right, bottom = min(float(width), right), min(float(height), bottom)
        if right - left < 2 or bottom - top < 2:
            continue
        box = (round(left), round(top), round(right - left), round(bottom - top))
        faces.append(Face(box=box, score=float(weight)))
    faces.sort(key=lambda face: face.box[2] * face.box[3], reverse=True)
    if not faces and fallback and float(gray.std()) > BLANK_STD:
        side = min(height, width)
        faces.append(Face(box=((width - side) // 2, (height - side) // 2, side, side), score=0.0, fallback=True))
    return faces


def _raw_boxes(gray: np.ndarray, min_face_fraction: float) -> list[tuple[float, float, float, float, float]]:
    """Cascade boxes as (left, top, right, bottom, weight) in the photo's pixels, not clipped to it."""
    height, width = gray.shape
    scale = min(1.0, DETECTION_SIDE / max(height, width))
    small = cv2.resize(
        gray, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA
    )
    pad = round(DETECTION_PADDING * max(small.shape))
    fill = int(np.median(small))
    padded = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=fill)
    padded = cv2.equalizeHist(padded)
    min_side = max(24, round(min_face_fraction * min(small.shape)))
    boxes, _levels, weights = _cascade().detectMultiScale3(
        padded, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side), outputRejectLevels=True
    )
    return [
        ((x - pad) / scale, (y - pad) / scale, (x + w - pad) / scale, (y + h - pad) / scale, float(weight))
        for (x, y, w, h), weight in zip(np.asarray(boxes).reshape(-1, 4), np.asarray(weights).reshape(-1), strict=True)
    ]


def crop(rgb: np.ndarray, box: tuple[int, int, int, int] | Face, size: int = IMAGE_SIZE) -> np.ndarray:
    """The grayscale size x size face the classifier expects, framed with FER-2013's margin.

    A fallback box (a whole tight crop) is used as it is; a detected box is
    widened by CROP_MARGIN, padding with the edge pixels where it leaves the photo.
    """
    margin = 0.0 if isinstance(box, Face) and box.fallback else CROP_MARGIN
    x, y, w, h = box.box if isinstance(box, Face) else box
    gray = to_gray(rgb)
    side = max(w, h) * (1 + 2 * margin)
    center_x, center_y = x + w / 2, y + h / 2
    left, top = round(center_x - side / 2), round(center_y - side / 2)
    side = round(side)
    height, width = gray.shape
    pad_left, pad_top = max(0, -left), max(0, -top)
    pad_right, pad_bottom = max(0, left + side - width), max(0, top + side - height)
    if pad_left or pad_top or pad_right or pad_bottom:
        gray = cv2.copyMakeBorder(gray, pad_top, pad_bottom, pad_left, pad_right, cv2.BORDER_REPLICATE)
        left, top = left + pad_left, top + pad_top
    return resize_face(gray[top : top + side, left : left + side], size)


def calibrate(data_dir: str, per_class: int = 100, upscale: int = 4) -> dict[str, float]:
    """Measure where the cascade's box falls inside FER-2013's 48x48 frames (for CROP_MARGIN)."""
    from ml.data import load_split

    split, _ = load_split(data_dir, "train", limit_per_class=per_class)
    fractions = []
    for image in split.images:
        big = cv2.resize(image, (IMAGE_SIZE * upscale, IMAGE_SIZE * upscale), interpolation=cv2.INTER_CUBIC)
        boxes = sorted(_raw_boxes(big, 0.1), key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)
        if boxes:
            left, top, right, bottom, _ = boxes[0]
            side = big.shape[0]
            fractions.append((left / side, top / side, (right - left) / side, (bottom - top) / side))
    found = np.asarray(fractions)
    x, y, w, h = np.median(found, axis=0)
    return {
        "images": len(split.images),
        "found": len(found),
        "x": float(x),
        "y": float(y),
        "w": float(w),
        "h": float(h),
        "margin": float((1 / max(w, h) - 1) / 2),
    }


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m ml.faces", description="Calibrate the face crop margin.")
    parser.add_argument("--calibrate", action="store_true", required=True)
    parser.add_argument("--data", required=True)
    args = parser.parse_args()
    print(json.dumps(calibrate(args.data), indent=2))
