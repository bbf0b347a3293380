"""The one preprocessing function shared by training, evaluation and inference.

Faces reach the model as float32 pixels in 0..255, shape (N, 48, 48, 1); the
model itself rescales them (a `Rescaling` layer inside the saved `.keras`
file), so a saved model carries its own normalisation and nothing outside it
can drift from what it was trained with.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

IMAGE_SIZE = 48
INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)
# Test-time augmentation: evaluation and the worker's classifier average a face's
# probabilities over the same views, built by `tta_views`.
TTA_MODES = ("plain", "flip", "tencrop", "vshift")
# The reflect padding of training's random crop (ml.training.augment.AugmentConfig.crop_padding):
# ten-crop's corners are the extreme shifts the model saw.
CROP_PADDING = 4
# How far "vshift" moves the face up and down; each of the three views is read with its
# mirror, so the reading rests less on exactly where the face was cropped. Chosen on
# PublicTest for kd3, the shipped net: the face moved up, down, left and right (ten views)
# read 0.691, 0.695, 0.693 and 0.690 at 1, 2, 3 and 4 pixels (flip alone 0.6885), and
# diagonal moves less at every distance. At 2 pixels on its LiteRT export, up and down
# alone (six views) read 0.698, left and right alone 0.685.
TTA_SHIFT_PIXELS = 2


def to_gray(image: np.ndarray) -> np.ndarray:
    """Return a uint8 (H, W) grayscale copy of a grayscale, RGB or RGBA image."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 3:
        code = cv2.COLOR_RGBA2GRAY if image.shape[2] == 4 else cv2.COLOR_RGB2GRAY
        image = cv2.cvtColor(np.ascontiguousarray(image[:, :, : image.shape[2]]), code)
    if image.ndim != 2:
        raise ValueError(f"A face must be a (H, W) grayscale or (H, W, 3) RGB array, not shape {image.shape}.")
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return image


def resize_face(face: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """Resize one grayscale face to size x size.

    INTER_AREA when shrinking (it averages, as FER-2013's own downscaling did,
    instead of aliasing) and INTER_LINEAR when enlarging.
    """
    face = to_gray(face)
    height, width = face.shape
    if face.size == 0:
        raise ValueError("A face must not be empty.")
    if (height, width) == (size, size):
        return face
    interpolation = cv2.INTER_AREA if height * width > size * size else cv2.INTER_LINEAR
    return cv2.resize(face, (size, size), interpolation=interpolation)


def preprocess_faces(faces: np.ndarray | Sequence[np.ndarray], size: int = IMAGE_SIZE) -> np.ndarray:
    """Turn uint8 grayscale faces into the model's input: float32 (N, size, size, 1) in 0..255.

    `faces` is an (N, H, W) uint8 array or a list of faces of any size (RGB
    faces are converted to grayscale). Training, evaluation and inference all
    call this function, so they see identical arrays.
    """
    if isinstance(faces, np.ndarray) and faces.ndim == 4 and faces.shape[-1] == 1:
        faces = faces[..., 0]
    if isinstance(faces, np.ndarray) and faces.ndim == 3 and faces.shape[1:] == (size, size):
        batch = faces
    elif isinstance(faces, np.ndarray) and faces.ndim == 2:
        batch = resize_face(faces, size)[None]
    else:
        resized = [resize_face(face, size) for face in faces]
        batch = np.stack(resized) if resized else np.zeros((0, size, size), np.uint8)
    if batch.dtype != np.uint8:
        batch = np.clip(batch, 0, 255).astype(np.uint8)
    return batch.astype(np.float32)[..., None]


def tta_views(batch: np.ndarray, mode: str) -> list[np.ndarray]:
    """The views of a preprocessed (N, 48, 48, 1) batch that a TTA mode averages over."""
    if mode == "plain":
        return [batch]
    if mode == "flip":
        return [batch, batch[:, :, ::-1]]
    if mode == "tencrop":
        pad = CROP_PADDING
        size = batch.shape[1]
        padded = np.pad(batch, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
        offsets = [(pad, pad), (0, 0), (0, 2 * pad), (2 * pad, 0), (2 * pad, 2 * pad)]
        crops = [padded[:, top : top + size, left : left + size] for top, left in offsets]
        return crops + [crop[:, :, ::-1] for crop in crops]
    if mode == "vshift":
        shift = TTA_SHIFT_PIXELS
        size = batch.shape[1]
        padded = np.pad(batch, ((0, 0), (shift, shift), (0, 0), (0, 0)), mode="reflect")
        moved = [padded[:, top : top + size] for top in (shift, 0, 2 * shift)]
        return moved + [view[:, :, ::-1] for view in moved]
    raise ValueError(f"Unknown TTA mode {mode!r}; choose one of {', '.join(TTA_MODES)}.")
