"""Ship a trained net as the site's model: ml/artifacts/emotion_model.keras + a flat model_card.json.

    python -m ml.ship --run runs/student --data "$FER_DATA" --version emotion-vggnet32-kd-2026.11
    python -m ml.ship --reexport --litert-weights int8 --data "$FER_DATA" --version emotion-vggnet32-kd-int8-2026.11

The protocol is the literature's, and the default: every choice is made on
the validation data (the run's own split of train or, for a run that kept
none, FER-2013's PublicTest half), and PrivateTest is only measured, once,
when a version ships, and reported with a 95 % interval beside PublicTest and
all 7,178 test faces.

The steps, each a function below: read the run (`run_read`), store the net
with float16 weights (`ml.export.save_for_inference`) and reload the stored
file so what is measured is what ships, choose the TTA on validation
(`tta_choose`), measure every split (`split_metrics`), time the net
(`speed_measure`), and write the card (`card_build`).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import json
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from ml.augment import AugmentConfig
from ml.cli import portable, refusals_as_errors
from ml.inference import ARTIFACTS_DIR, MODEL_CARD
from ml.labels import LABELS
from ml.preprocessing import TTA_MODES

MODEL_FILE = "emotion_model.keras"
# Its LiteRT export, what the worker runs (ml.inference.LiteRTModel).
LITERT_FILE = "emotion_model.tflite"
ARTIFACTS_LIMIT_BYTES = 5 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Run:
    """What a training run (ml.train or ml.distill) recorded about itself."""

    folder: Path
    config: dict
    commands: list[str]
    history: list[dict]
    validation: str  # "PublicTest" or "train split"
    info: dict

    @property
    def best_epoch(self) -> int:
        key = "val_hard_accuracy" if any("val_hard_accuracy" in r for r in self.history) else "val_accuracy"
        scored = [r for r in self.history if r.get(key) is not None]
        if not scored:
            return len(self.history)
        return int(max(scored, key=lambda r: float(r[key]))["epoch"])


@dataclasses.dataclass(frozen=True)
class Splits:
    validation: object  # ml.data.Split
    public: object
    private: object
    test: object


def run_read(folder: Path) -> Run:
    """A run folder's record: run.json, and the history from history.csv (ml.distill) or state.json (ml.train)."""
    info = json.loads((folder / "run.json").read_text())
    if (folder / "state.json").is_file():
        state = json.loads((folder / "state.json").read_text())
        history = state["history"]
        commands = state.get("commands") or [info["command"]]
        validation = "train split" if sum(info["validation_counts"].values()) else "PublicTest"
    else:
        with (folder / "history.csv").open(newline="") as rows:
            history = [
                {"epoch": int(row.pop("epoch")) + 1, **{k: float(v) for k, v in row.items()}}
                for row in csv.DictReader(rows)
            ]
        commands = [info["command"]]
        validation = info.get("validation", "PublicTest")
    return Run(folder, info["config"], commands, history, validation, info)


def splits_load(data: str, run: Run) -> Splits:
    from ml.data import load_split, stratified_split, test_halves

    test, _ = load_split(data, "test")
    public, private = test_halves(test)
    validation = public
    if run.validation == "train split":
        train, _ = load_split(data, "train")
        _, validation = stratified_split(train, run.config["validation_fraction"], run.config["seed"])
    return Splits(validation, public, private, test)


def tta_choose(labels: np.ndarray, probabilities: Mapping[str, np.ndarray]) -> tuple[str, dict]:
    """The TTA mode with the best validation accuracy (the fewest views on a tie), and every mode's accuracy."""
    from ml.evaluate import classification_metrics

    accuracy = {mode: round(classification_metrics(labels, p)["accuracy"], 4) for mode, p in probabilities.items()}
    return max(accuracy, key=lambda mode: (accuracy[mode], -TTA_MODES.index(mode))), accuracy


def litert_predictor(model, batch_size: int = 256):
    """Predict in batches of `batch_size` with a LiteRTModel (which keeps an interpreter per batch size)."""
    return lambda x: np.concatenate(
        [model.predict_on_batch(x[start : start + batch_size]) for start in range(0, len(x), batch_size)]
    )


def runtimes_agreement(model, served, faces: np.ndarray, tta: str) -> dict:
    """How closely the LiteRT export (`served`) reads preprocessed faces as the `.keras` net (`model`) does."""
    from ml.evaluate import keras_predictor, predict_probabilities

    keras_probabilities = predict_probabilities(keras_predictor(model), faces, tta)
    litert_probabilities = predict_probabilities(litert_predictor(served), faces, tta)
    return {
        "faces": len(keras_probabilities),
        "same_emotion": round(float((keras_probabilities.argmax(1) == litert_probabilities.argmax(1)).mean()), 5),
        "max_probability_difference": float(f"{np.abs(keras_probabilities - litert_probabilities).max():.2g}"),
    }


def export_measure(model, served, splits: Splits, modes: Sequence[str]) -> dict:
    """Everything the card reports, measured on the LiteRT export (`served`), the runtime the site serves:
    the TTA chosen on validation among `modes`, every split's metrics, the export's agreement with the
    `.keras` net (`model`) on the validation faces, and the speed."""
    from ml.evaluate import predict_probabilities, split_metrics
    from ml.preprocessing import preprocess_faces

    def probabilities(split, mode: str) -> np.ndarray:
        return predict_probabilities(litert_predictor(served), preprocess_faces(split.images), mode)

    chosen, selection = tta_choose(
        splits.validation.labels, {mode: probabilities(splits.validation, mode) for mode in modes}
    )
    halves = (
        ("validation", splits.validation),
        ("public_test", splits.public),
        ("private_test", splits.private),
        ("all_test", splits.test),
    )
    return {
        "tta": chosen,
        "tta_validation_accuracy": selection,
        **{name: split_metrics(split.labels, probabilities(split, chosen)) for name, split in halves},
        "speed": speed_measure(served, chosen),
        "litert_agreement": runtimes_agreement(model, served, preprocess_faces(splits.validation.images), chosen),
    }


def runtime_text(weights: str) -> str:
    return (
        f"the site runs {LITERT_FILE}, the LiteRT export of {MODEL_FILE} ({weights} weights), on ai-edge-litert; "
        "the metrics, the TTA choice and the speed are measured on it"
    )


def size_check(*paths: Path) -> None:
    """Refuse (deleting them) stored files over the artifacts' limit."""
    largest = max(path.stat().st_size for path in paths)
    if largest > ARTIFACTS_LIMIT_BYTES:
        for path in paths:
            path.unlink()
        raise RuntimeError(
            f"The stored net is {largest / 2**20:.1f} MB, over the {ARTIFACTS_LIMIT_BYTES >> 20} MB allowed."
        )


def speed_measure(model, tta: str, *, batch: int = 32, repeats: int = 30) -> dict:
    """Median milliseconds a face, in batches of `batch` faces with the site's TTA, on this CPU."""
    from ml.preprocessing import tta_views

    faces = np.random.default_rng(0).integers(0, 256, size=(batch, 48, 48, 1)).astype("float32")
    stacked = np.concatenate(tta_views(faces, tta))
    model.predict_on_batch(stacked)  # trace once
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        model.predict_on_batch(stacked)
        times.append((time.perf_counter() - started) * 1000 / batch)
    return {"ms_per_face": round(statistics.median(times), 3), "batch": batch, "tta": tta, "cpu": cpu_name()}


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def recipe_of(run: Run) -> dict:
    recipe = {key: value for key, value in run.config.items() if key not in {"data", "out"}}
    # A run whose teacher read each view augmented in the step with Keras layers recorded them.
    recipe["augmentation"] = run.info.get("augmentation") or dataclasses.asdict(
        AugmentConfig(erase_probability=run.config.get("erase_probability", 0.5))
    )
    return recipe


def card_build(
    *,
    run: Run,
    version: str,
    model,
    size_bytes: int,
    splits: Splits,
    tta: str,
    tta_selection: dict,
    metrics: dict,
    speed: dict,
    ship_command: str,
) -> dict:
    """The flat model card: what the model is, its data, recipe, teacher, metrics, TTA, speed and size."""
    import keras

    data = run.config.get("data", "")
    epochs = len(run.history)
    return {
        "version": version,
        "file": MODEL_FILE,
        "architecture": run.config.get("arch"),
        "width": run.config.get("width"),
        "parameters": int(model.count_params()),
        "size_bytes": size_bytes,
        "labels": list(LABELS),
        "input": "uint8 grayscale face, resized to 48x48 by ml.preprocessing.preprocess_faces; "
        "float pixels 0..255, scaled inside the model",
        "weights": "stored in float16, rounded to bfloat16's precision (8 significant bits); "
        "load with ml.models.load_model, which computes in float32",
        "data": "FER-2013 (Kaggle msambare/fer2013): train/ for training, test/ split by file name into "
        "PublicTest_* and PrivateTest_*",
        "train_images": int(sum(run.info["train_counts"].values())),
        "validation_data": f"{run.validation} ({len(splits.validation)} faces): every choice (epoch, TTA) made on it",
        "reported_once": f"PrivateTest ({len(splits.private)} faces): measured when this version shipped, "
        "never used to choose",
        "teacher": run.info.get("teacher_version"),
        "init_member": run.info.get("init_member"),
        "recipe": recipe_of(run),
        "epochs_planned": run.config.get("epochs"),
        "epochs_run": epochs,
        "best_epoch": run.best_epoch,
        "tta": tta,
        "tta_validation_accuracy": tta_selection,
        "validation": metrics["validation"],
        "public_test": metrics["public_test"],
        "private_test": metrics["private_test"],
        "all_test": metrics["all_test"],
        "speed": speed,
        "date": dt.datetime.now(dt.UTC).date().isoformat(),
        "trained_with": {"keras": run.info.get("keras"), "backend": run.info.get("backend")},
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "train_command": [portable(command, data) for command in run.commands],
        "ship_command": portable(ship_command, data) if ship_command else "",
    }


def ship(
    run_dir: Path,
    data: str,
    version: str,
    *,
    artifacts: Path = ARTIFACTS_DIR,
    command: str = "",
    tta: str = "auto",
    modes: Sequence[str] = TTA_MODES,
    litert_weights: str = "float16",
) -> dict:
    """Store, measure and describe a run's best net as the site's model; returns the card."""
    if tta != "auto" and tta not in modes:
        raise ValueError(f"--modes must include {tta!r}, the mode the site uses.")
    if not (run_dir / "run.json").is_file() or not (run_dir / "best.keras").is_file():
        raise FileNotFoundError(f"{run_dir} holds no finished run (run.json and best.keras).")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from ml.export import export_litert, save_for_inference
    from ml.inference import LiteRTModel
    from ml.models import load_model

    run = run_read(run_dir)
    splits = splits_load(data, run)
    artifacts.mkdir(parents=True, exist_ok=True)
    stored, stored_litert = artifacts / f"{MODEL_FILE}.tmp.keras", artifacts / f"{LITERT_FILE}.tmp.tflite"
    save_for_inference(load_model(run_dir / "best.keras"), stored)
    try:
        model = load_model(stored)  # the file that ships, float16 weights and all
        export_litert(model, stored_litert, weights=litert_weights)
        measured = export_measure(model, LiteRTModel(stored_litert), splits, tuple(modes) if tta == "auto" else (tta,))
    except BaseException:
        stored.unlink(missing_ok=True)
        stored_litert.unlink(missing_ok=True)
        raise
    size_check(stored, stored_litert)
    size, litert_size = stored.stat().st_size, stored_litert.stat().st_size
    os.replace(stored, artifacts / MODEL_FILE)
    os.replace(stored_litert, artifacts / LITERT_FILE)
    card = card_build(
        run=run,
        version=version,
        model=model,
        size_bytes=size,
        splits=splits,
        tta=measured["tta"],
        tta_selection=measured["tta_validation_accuracy"],
        metrics=measured,
        speed=measured["speed"],
        ship_command=command,
    )
    card["runtime"] = runtime_text(litert_weights)
    card["litert_file"] = LITERT_FILE
    card["litert_weights"] = litert_weights
    card["litert_size_bytes"] = litert_size
    card["litert_agreement"] = measured["litert_agreement"]
    card = json.loads(json.dumps(card))  # what the file holds: tuples become lists
    (artifacts / MODEL_CARD).write_text(json.dumps(card, indent=2) + "\n")
    print(card_summary(card))
    return card


def export_beside(model, artifacts: Path, weights: str, measure: Callable) -> tuple[object, int]:
    """Export `model` to LiteRT beside the shipped net, measured by `measure(served)` before it replaces the
    export there; returns what `measure` returned and the export's size. A failed measurement or an export over
    the limit leaves the shipped export as it was."""
    from ml.export import export_litert
    from ml.inference import LiteRTModel

    stored_litert = artifacts / f"{LITERT_FILE}.tmp.tflite"
    export_litert(model, stored_litert, weights=weights)
    try:
        measured = measure(LiteRTModel(stored_litert))
    except BaseException:
        stored_litert.unlink(missing_ok=True)
        raise
    size_check(stored_litert)
    size = stored_litert.stat().st_size
    os.replace(stored_litert, artifacts / LITERT_FILE)
    return measured, size


def litert_export(data: str, *, artifacts: Path = ARTIFACTS_DIR, weights: str = "float16") -> dict:
    """Export an already shipped `.keras` net to LiteRT beside it, and record the export in its card.

    For a version shipped before `ship` wrote the export itself. Its metrics
    stay as they were measured on the `.keras` file, once; the card gains the
    export's agreement with that file on the validation faces (PublicTest) and
    the speed measured on the export. Returns the card.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from ml.data import load_split, test_halves
    from ml.models import load_model
    from ml.preprocessing import preprocess_faces

    card_path = artifacts / MODEL_CARD
    card = json.loads(card_path.read_text())
    if not card.get("validation_data", "").startswith("PublicTest"):
        raise ValueError("Only a net validated on PublicTest can be exported here; ship its run again instead.")
    model = load_model(artifacts / MODEL_FILE)
    public, _private_is_not_read_here = test_halves(load_split(data, "test")[0])

    def measure(served) -> tuple[dict, dict]:
        agreement = runtimes_agreement(model, served, preprocess_faces(public.images), card["tta"])
        return agreement, speed_measure(served, card["tta"])

    (agreement, speed), size = export_beside(model, artifacts, weights, measure)
    card.update(
        runtime=f"the site runs {LITERT_FILE}, the LiteRT export of {MODEL_FILE} ({weights} weights), on "
        "ai-edge-litert; the metrics were measured on the .keras file when it shipped, the agreement and the speed "
        "on the export",
        litert_file=LITERT_FILE,
        litert_weights=weights,
        litert_size_bytes=size,
        litert_agreement=agreement,
        speed=speed,
    )
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return card


def reexport(
    data: str,
    version: str,
    *,
    weights: str,
    modes: Sequence[str] | None = None,
    artifacts: Path = ARTIFACTS_DIR,
    command: str = "",
) -> dict:
    """Release the net already shipped again, served by another LiteRT export or TTA, every figure measured anew.

    The net and its lineage (recipe, teacher, training commands) stay. The
    export changes its readings a little, so the card's figures are measured
    again on it, as `ship` measures them: the TTA chosen on PublicTest among
    `modes` (None: the modes chosen from before), validation, both test halves (PrivateTest
    once, for this release) and all of test, the export's agreement with the
    `.keras` file, and the speed. The real-photo offsets were fitted to the
    old export's readings, so they go: fit them again (`make photo-offsets`).
    Returns the card.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from ml import photo_offsets
    from ml.data import load_split, test_halves
    from ml.models import load_model

    card_path = artifacts / MODEL_CARD
    card = json.loads(card_path.read_text())
    if not card.get("validation_data", "").startswith("PublicTest"):
        raise ValueError("Only a net validated on PublicTest can be released again here; ship its run instead.")
    if version == card["version"]:
        raise ValueError(f"{version} is the version shipped now: a release served by another export needs its own.")
    test, _ = load_split(data, "test")
    public, private = test_halves(test)
    model = load_model(artifacts / MODEL_FILE)
    splits = Splits(public, public, private, test)
    modes = tuple(modes) if modes else tuple(card["tta_validation_accuracy"])
    measured, size = export_beside(
        model, artifacts, weights, lambda served: export_measure(model, served, splits, modes)
    )
    released = {key: value for key, value in card.items() if key not in photo_offsets.CARD_FIELDS}
    released.update(
        version=version,
        released_from=card["version"],
        date=dt.datetime.now(dt.UTC).date().isoformat(),
        **measured,
        ship_command=portable(command, data) if command else "",
        runtime=runtime_text(weights),
        litert_file=LITERT_FILE,
        litert_weights=weights,
        litert_size_bytes=size,
    )
    released = json.loads(json.dumps(released))  # what the file holds: tuples become lists
    card_path.write_text(json.dumps(released, indent=2) + "\n")
    return released


def card_summary(card: dict) -> str:
    lines = [
        f"Shipped {card['version']} ({card['size_bytes'] / 2**20:.1f} MB, {card['parameters']:,} parameters), "
        f"TTA {card['tta']}, {card['speed']['ms_per_face']} ms a face batched"
    ]
    if card.get("litert_file"):
        agreement = card["litert_agreement"]
        lines.append(
            f"  served as {card['litert_file']} ({card['litert_size_bytes'] / 2**20:.1f} MB): the same emotion as "
            f"the .keras file for {agreement['same_emotion']:.2%} of validation faces"
        )
    for name in ("validation", "public_test", "private_test", "all_test"):
        split = card[name]
        low, high = split["interval_95"]
        lines.append(
            f"  {name:<12} {split['accuracy']:.4f} [{low:.4f}, {high:.4f}]  min recall "
            f"{min(split['recall'].values()):.3f}  ({split['images']} faces)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from ml.export import LITERT_WEIGHTS  # Keras: only once the command runs

    parser = argparse.ArgumentParser(prog="python -m ml.ship", description="Ship a run's best net to ml/artifacts.")
    parser.add_argument("--run", help="a run folder of ml.train or ml.distill")
    parser.add_argument("--data", required=True, help="FER-2013 folder holding train/ and test/")
    parser.add_argument("--version", help="e.g. emotion-vggnet32-kd-2026.11")
    parser.add_argument("--tta", choices=(*TTA_MODES, "auto"), default="auto", help="auto: the best on validation")
    parser.add_argument(
        "--modes",
        nargs="+",
        choices=TTA_MODES,
        help="the TTA modes --tta auto chooses among (default: all; with --reexport, those chosen among before)",
    )
    parser.add_argument("--artifacts", default=str(ARTIFACTS_DIR), help="where the model and its card go")
    parser.add_argument(
        "--litert-only", action="store_true", help="export the net already shipped to LiteRT (no --run, no --version)"
    )
    parser.add_argument(
        "--reexport",
        action="store_true",
        help="release the net already shipped again as --version, served by a new LiteRT export, measured anew",
    )
    parser.add_argument("--litert-weights", choices=LITERT_WEIGHTS, default="float16", help="the LiteRT export's")
    args = parser.parse_args(argv)
    command = "python -m ml.ship " + shlex.join(sys.argv[1:] if argv is None else argv)
    if args.litert_only:
        with refusals_as_errors("python -m ml.ship"):
            card = litert_export(args.data, artifacts=Path(args.artifacts), weights=args.litert_weights)
        print(card_summary(card))
        return
    if args.reexport:
        if not args.version:
            parser.error("--reexport needs the new release's --version")
        with refusals_as_errors("python -m ml.ship"):
            card = reexport(
                args.data,
                args.version,
                weights=args.litert_weights,
                modes=args.modes,
                artifacts=Path(args.artifacts),
                command=command,
            )
        print(card_summary(card))
        return
    if not args.run or not args.version:
        parser.error("--run and --version are needed (or --litert-only)")
    with refusals_as_errors("python -m ml.ship"):
        ship(
            Path(args.run),
            args.data,
            args.version,
            artifacts=Path(args.artifacts),
            command=command,
            tta=args.tta,
            modes=tuple(args.modes or TTA_MODES),
            litert_weights=args.litert_weights,
        )


if __name__ == "__main__":
    main()
