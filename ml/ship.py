"""Ship a trained model as the one the site uses: ml/artifacts/emotion_model.keras + model_card.json.

    python -m ml.ship --run runs/vggnet --data ../shared/datasets/fer2013 --version emotion-vggnet-2026.11

Evaluates the run's best model on the test split (plain, flip and ten-crop
TTA), saves it without optimizer state (smaller, inference only) and writes
the model card from the run's recorded recipe and the measured numbers; the
evaluation itself (JSON and confusion matrices) goes to `--report-dir`.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import shlex
import sys
from pathlib import Path

from ml.augment import AugmentConfig
from ml.inference import ARTIFACTS_DIR, MODEL_CARD
from ml.labels import LABELS

MODEL_FILE = "emotion_model.keras"
ARTIFACTS_LIMIT_BYTES = 25 * 1024 * 1024
# The mode the worker's EmotionClassifier uses: a mirrored copy costs one
# more face per batch, ten crops would cost nine.
INFERENCE_MODE = "flip"


def ship(
    run_dir: Path,
    data: str,
    version: str,
    *,
    report_dir: Path,
    artifacts: Path = ARTIFACTS_DIR,
    command: str = "",
    modes: tuple[str, ...] = ("plain", "flip", "tencrop"),
) -> dict:
    if INFERENCE_MODE not in modes:
        raise ValueError(f"--modes must include {INFERENCE_MODE!r}, the mode the site uses.")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from ml.data import load_split
    from ml.evaluate import evaluate_predictor, format_report, keras_predictor, write_results

    state = json.loads((run_dir / "state.json").read_text())
    run = json.loads((run_dir / "run.json").read_text())
    source = run_dir / "best.keras"
    model = keras.models.load_model(source, compile=False)
    test, report = load_split(data, "test")
    results, _ = evaluate_predictor(keras_predictor(model), test.images, test.labels, modes)
    print(format_report(version, results))
    write_results(version, results, report_dir, {"model": str(source), "data": data, "images": len(test)})

    artifacts.mkdir(parents=True, exist_ok=True)
    target = artifacts / MODEL_FILE
    tmp = artifacts / f"{MODEL_FILE}.tmp.keras"
    model.save(tmp)
    os.replace(tmp, target)
    best = next((r for r in state["history"] if r["epoch"] == state["best_epoch"]), {})
    chosen = results[INFERENCE_MODE]
    card = {
        "version": version,
        "file": MODEL_FILE,
        "architecture": model.name,
        "parameters": int(model.count_params()),
        "labels": list(LABELS),
        "input": "uint8 grayscale face, resized to 48x48 by ml.preprocessing.preprocess_faces; "
        "float pixels 0..255, scaled inside the model",
        "data": {
            "name": "FER-2013 (Kaggle msambare/fer2013 folder layout)",
            "train_images": sum(run["train_counts"].values()),
            "validation_images": sum(run["validation_counts"].values()),
            "validation": f"stratified {run['config']['validation_fraction']:.0%} of train, seed {run['seed']}",
            "test_images": len(test),
            "anomalies_in_train": len(run.get("anomalies", [])),
            "anomalies_in_test": len(report.anomalies),
        },
        "recipe": {
            **run["config"],
            "augmentation": dataclasses.asdict(
                AugmentConfig(erase_probability=run["config"].get("erase_probability", 0.5))
            ),
        },
        "epochs": {"planned": state["config"]["epochs"], "run": state["epoch"], "best": state["best_epoch"]},
        "validation_accuracy": best.get("val_accuracy"),
        "test_accuracy": chosen["accuracy"],
        "test_loss": chosen["loss"],
        "test_accuracy_by_tta": {mode: metrics["accuracy"] for mode, metrics in results.items()},
        "per_class_recall": {label: row["recall"] for label, row in chosen["per_class"].items()},
        "per_class_f1": {label: row["f1"] for label, row in chosen["per_class"].items()},
        "inference": {"tta": INFERENCE_MODE, "flip_tta": INFERENCE_MODE == "flip"},
        "date": dt.datetime.now(dt.UTC).date().isoformat(),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "command": {"train": state.get("commands", [run["command"]]), "ship": command},
    }
    card = json.loads(json.dumps(card))  # what the file holds: tuples become lists
    (artifacts / MODEL_CARD).write_text(json.dumps(card, indent=2) + "\n")
    total = sum(p.stat().st_size for p in artifacts.iterdir() if p.is_file())
    if total > ARTIFACTS_LIMIT_BYTES:
        raise RuntimeError(f"{artifacts} holds {total / 2**20:.1f} MB, over the 25 MB the repository allows.")
    print(
        f"Shipped {target} ({target.stat().st_size / 2**20:.1f} MB) as {version}: test accuracy "
        f"{chosen['accuracy']:.4f} ({INFERENCE_MODE})."
    )
    return card


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ml.ship", description="Ship a run's best model to ml/artifacts.")
    parser.add_argument("--run", required=True, help="a training run folder (best.keras, state.json, run.json)")
    parser.add_argument("--data", required=True, help="FER-2013 folder holding test/")
    parser.add_argument("--version", required=True, help="e.g. emotion-vggnet-2026.11")
    parser.add_argument("--report-dir", default="reports/shipped")
    parser.add_argument("--modes", nargs="+", default=["plain", "flip", "tencrop"], help="TTA modes to evaluate")
    args = parser.parse_args(argv)
    command = "python -m ml.ship " + shlex.join(sys.argv[1:] if argv is None else argv)
    ship(
        Path(args.run),
        args.data,
        args.version,
        report_dir=Path(args.report_dir),
        command=command,
        modes=tuple(args.modes),
    )


if __name__ == "__main__":
    main()
