"""Face crops of corrected detections, for fine-tuning the model on what users told us.

Only users who opted in (`share_photos_for_training`, off by default) give
photos; only detections they corrected are used (the correction is the label
we trust); only photos that still exist (retention may have deleted them).
The crops go to `<out>/train/<emotion>/user<uid>_det<id>.png`, FER-2013's
folder layout, 48x48 grayscale, cropped exactly as the worker crops faces.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from detection.models import Detection, DetectionStatus
from ml.runtime import faces as face_tools
from ml.runtime.labels import LABELS

logger = logging.getLogger(__name__)


@dataclass
class TrainingExport:
    written: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LABELS, 0))
    users: set[int] = field(default_factory=set)
    skipped: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.written.values())


def training_candidates():
    """Corrected, finished detections of opted-in users whose photo is still stored."""
    return (
        Detection.objects.filter(
            user__share_photos_for_training=True, status=DetectionStatus.DONE, corrected_emotion__in=LABELS
        )
        .exclude(image="")
        .order_by("user_id", "id")
    )


def training_data_export(*, out_dir: Path) -> TrainingExport:
    """Write every candidate's main face crop; a photo that cannot be read is skipped and named."""
    from PIL import Image

    root = Path(out_dir) / "train"
    for label in LABELS:
        # All seven folders, even empty: the FER-2013 loader refuses a layout missing one.
        (root / label).mkdir(parents=True, exist_ok=True)
    export = TrainingExport()
    for detection in training_candidates().iterator():
        box = _main_box(detection.faces)
        if box is None:
            export.skipped.append(f"detection {detection.pk}: no face box stored")
            continue
        try:
            with detection.image.open("rb") as stored, Image.open(stored) as image:
                rgb = np.asarray(image.convert("RGB"))
        except (OSError, ValueError) as exc:
            export.skipped.append(f"detection {detection.pk}: photo unreadable ({exc.__class__.__name__})")
            continue
        face = face_tools.crop(rgb, box)
        path = root / detection.corrected_emotion / f"user{detection.user_id}_det{detection.pk}.png"
        if not cv2.imwrite(str(path), face.astype(np.uint8)):
            export.skipped.append(f"detection {detection.pk}: could not write {path}")
            continue
        export.written[detection.corrected_emotion] += 1
        export.users.add(detection.user_id)
    return export


def _main_box(faces: object) -> tuple[int, int, int, int] | None:
    main = faces[0] if isinstance(faces, list) and faces else None
    box = main.get("box") if isinstance(main, Mapping) else None
    if not isinstance(box, list | tuple) or len(box) != 4:
        return None
    try:
        x, y, w, h = (int(value) for value in box)
    except (TypeError, ValueError):
        return None
    return (x, y, w, h) if w > 0 and h > 0 else None
