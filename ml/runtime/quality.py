"""What makes a photo hard to read, measured on the face the worker reads: a hint, never a refusal.

    hints = photo_hints(rgb, box)      # e.g. ["small_face", "dark"]

The limits come from the image, not from anyone's labels:

- **small_face**: the face's box is under 48 px on its shorter side, the size of the faces the net was
  trained on (FER-2013's 48x48), so it reads an upscaled, blurrier face than any it learned from.
- **dark**: the face's median brightness is under 50 of 255 (in Rec. 601 luma), where a JPEG's shadows
  have few grey levels left for the features an expression shows.
- **blurred**: the variance of the face's Laplacian over the variance of the face itself (Pech-Pacheco et
  al. 2000's focus measure, divided by the contrast so that a dark face is not also called blurred), with the
  face scaled to 96x96 px first so that large and small faces compare alike, is under 0.015. Measured on 107
  real faces of 48 px and more: 99 % score over 0.020 as they are; blurred by a Gaussian of sigma 2 px at that
  scale, 95 % score under 0.016, and all of them under 0.010 at sigma 3. A face smaller than 48 px gets the
  small-face hint instead.
"""

from __future__ import annotations

import cv2
import numpy as np

from ml.runtime.preprocessing import IMAGE_SIZE, to_gray

SMALL_FACE_PX = IMAGE_SIZE
DARK_MEDIAN = 50
BLUR_SIDE = 96
BLUR_RATIO = 0.015
HINTS = ("small_face", "dark", "blurred")


def face_region(gray: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The face's pixels inside the image (a box partly outside it is clipped)."""
    x, y, width, height = (round(float(value)) for value in box)
    top, left = max(0, y), max(0, x)
    return gray[top : max(top, y + height), left : max(left, x + width)]


def sharpness(face: np.ndarray) -> float:
    """The Laplacian's variance over the face's own, the face scaled to BLUR_SIDE px: low for a blurred face."""
    scaled = cv2.resize(face, (BLUR_SIDE, BLUR_SIDE), interpolation=cv2.INTER_AREA).astype(np.float64)
    contrast = float(scaled.var())
    return float(cv2.Laplacian(scaled, cv2.CV_64F).var()) / contrast if contrast > 0 else 0.0


def photo_hints(rgb: np.ndarray, box: tuple[float, float, float, float]) -> list[str]:
    """The hints (in HINTS' order) that apply to the face at `box` (x, y, width, height) in `rgb`."""
    gray = to_gray(rgb)
    face = face_region(gray, box)
    hints = []
    small = min(box[2], box[3]) < SMALL_FACE_PX
    if small:
        hints.append("small_face")
    if face.size == 0:
        return hints
    if float(np.median(face)) < DARK_MEDIAN:
        hints.append("dark")
    # A small face is soft once scaled up whatever the camera did: its own hint says what to do.
    if not small and sharpness(face) < BLUR_RATIO:
        hints.append("blurred")
    return hints
