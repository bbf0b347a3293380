"""Data augmentation as a NumPy/OpenCV pipeline, so it runs the same on every Keras backend.

The study's transforms (rotation, zoom, shifts, brightness, horizontal flip)
are one random affine warp per image plus a brightness factor; on top of them
come a random crop (reflect-pad, then crop back to 48x48) and random erasing
(Zhong et al. 2020), the two that Khaireddin & Chen found to matter most.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    rotation_degrees: float = 15.0
    zoom: float = 0.15  # scale drawn from [1 - zoom, 1 + zoom]
    shift: float = 0.1  # fraction of the side
    brightness: float = 0.25  # factor drawn from [1 - brightness, 1 + brightness]
    flip: bool = True
    crop_padding: int = 4
    erase_probability: float = 0.5
    erase_area: tuple[float, float] = (0.02, 0.2)
    erase_aspect: tuple[float, float] = (0.3, 3.3)


def augment_image(image: np.ndarray, rng: np.random.Generator, config: AugmentConfig) -> np.ndarray:
    """One random augmentation of a uint8 (H, W) face; returns uint8 (H, W)."""
    height, width = image.shape
    angle = rng.uniform(-config.rotation_degrees, config.rotation_degrees)
    scale = rng.uniform(1 - config.zoom, 1 + config.zoom)
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, scale)
    matrix[0, 2] += rng.uniform(-config.shift, config.shift) * width
    matrix[1, 2] += rng.uniform(-config.shift, config.shift) * height
    out = cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    if config.flip and rng.random() < 0.5:
        out = out[:, ::-1]
    if config.crop_padding:
        pad = config.crop_padding
        padded = cv2.copyMakeBorder(np.ascontiguousarray(out), pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
        top, left = rng.integers(0, 2 * pad + 1, size=2)
        out = padded[top : top + height, left : left + width]
    out = out.astype(np.float32)
    if config.brightness:
        out *= rng.uniform(1 - config.brightness, 1 + config.brightness)
    if rng.random() < config.erase_probability:
        area = rng.uniform(*config.erase_area) * height * width
        aspect = np.exp(rng.uniform(np.log(config.erase_aspect[0]), np.log(config.erase_aspect[1])))
        erase_h = min(height, max(1, round(np.sqrt(area * aspect))))
        erase_w = min(width, max(1, round(np.sqrt(area / aspect))))
        top = rng.integers(0, height - erase_h + 1)
        left = rng.integers(0, width - erase_w + 1)
        out[top : top + erase_h, left : left + erase_w] = rng.uniform(0, 255, size=(erase_h, erase_w))
    return np.clip(out, 0, 255).astype(np.uint8)


def augment_batch(images: np.ndarray, rng: np.random.Generator, config: AugmentConfig | None = None) -> np.ndarray:
    """Augment a uint8 (N, H, W) batch, each image independently."""
    config = config or AugmentConfig()
    return np.stack([augment_image(image, rng, config) for image in images])
