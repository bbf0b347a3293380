"""Where BlazeFace's box falls inside FER-2013's 48x48 frames: the numbers `ml.runtime.faces.crop` frames faces with.

    python -m ml.training.framing --calibrate --data "$FER_DATA"

prints the median box centre and size over training faces, the source of `FRAME_BOX_WIDTH` and
`FRAME_CENTRE_*` in `ml.runtime.faces`.
"""

from __future__ import annotations

import cv2
import numpy as np

from ml.runtime.faces import MIN_SCORE, _as_rgb, _blazeface_faces
from ml.runtime.preprocessing import IMAGE_SIZE
from ml.training.data import load_split


def calibrate(data_dir: str, per_class: int = 100, upscale: int = 4) -> dict[str, float]:
    """Measure where the detector's box falls inside FER-2013's 48x48 frames (FRAME_BOX_WIDTH, FRAME_CENTRE_*)."""
    split, _ = load_split(data_dir, "train", limit_per_class=per_class)
    measured = []
    for image in split.images:
        big = cv2.resize(image, (IMAGE_SIZE * upscale, IMAGE_SIZE * upscale), interpolation=cv2.INTER_CUBIC)
        found = _blazeface_faces(_as_rgb(big), MIN_SCORE)
        if found:
            x, y, w, h = max(found, key=lambda face: face.box[2] * face.box[3]).box
            side = big.shape[0]
            measured.append(((x + w / 2) / side, (y + h / 2) / side, w / side, h / side))
    centre_x, centre_y, width, height = np.median(np.asarray(measured), axis=0)
    return {
        "images": len(split.images),
        "found": len(measured),
        "centre_x": round(float(centre_x), 4),
        "centre_y": round(float(centre_y), 4),
        "box_width": round(float(width), 4),
        "box_height": round(float(height), 4),
    }


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m ml.training.framing", description=__doc__.split("\n")[0])
    parser.add_argument("--calibrate", action="store_true", required=True)
    parser.add_argument("--data", required=True)
    args = parser.parse_args()
    print(json.dumps(calibrate(args.data), indent=2))
