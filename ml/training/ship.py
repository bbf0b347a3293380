"""Ship a trained net as the site's model: ml/artifacts/emotion_model.keras, its LiteRT export, a flat card.

    python -m ml.training.ship --run runs/student-fp --ferplus "$FERPLUS_DATA" --data "$FER_DATA" \
        --version emotion-vggnet32-fp-2026.12 --modes plain flip vshift

The protocol: every choice is made on validation data, and PrivateTest is only measured, once, when a
version ships, reported with a 95 % interval.

- A run trained on FER+'s votes is validated on FER2013Valid (the PublicTest faces) by their majority label;
  the card reports FER+'s majority labels on FER2013Test (the PrivateTest faces) and, beside them,
  FER-2013's own labels on PublicTest, PrivateTest and all 7,178 test faces.
- A run trained on FER-2013's labels is validated on its own split of train, or on PublicTest.

The test-time augmentations compared are the `--modes` given, at most three, registered in the card before
any is scored; the one with the best validation accuracy is the site's.

The steps, each a function below: read the run (`run_read`), store the net with float16 weights
(`ml.training.export.save_for_inference`), export it to LiteRT (what the worker runs), choose the TTA on
validation and measure every split on the export (`export_measure`), and write the card (`card_build`).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ml.runtime.inference import ARTIFACTS_DIR, MODEL_CARD
from ml.runtime.labels import LABELS
from ml.runtime.preprocessing import TTA_MODES
from ml.training.augment import AugmentConfig
from ml.training.cli import history_read, portable, refusals_as_errors

MODEL_FILE = "emotion_model.keras"
# Its LiteRT export, what the worker runs (ml.runtime.inference.LiteRTModel).
LITERT_FILE = "emotion_model.tflite"
ARTIFACTS_LIMIT_BYTES = 5 * 1024 * 1024
MAX_REGISTERED_MODES = 3
FERPLUS_VARIABLE = "$FERPLUS_DATA"


@dataclasses.dataclass(frozen=True)
class Run:
    """What a training run (ml.training.train or ml.training.distill) recorded about itself."""

    folder: Path
    config: dict
    commands: list[str]
    history: list[dict]
    info: dict

    @property
    def labels(self) -> str:
        return self.config.get("labels", "fer2013")

    @property
    def best_epoch(self) -> int:
        scored = [row for row in self.history if row.get("val_accuracy") is not None]
        if not scored:
            return len(self.history)
        return int(max(scored, key=lambda row: row["val_accuracy"])["epoch"])


@dataclasses.dataclass(frozen=True)
class Scored:
    """Faces with the labels they are scored against (a majority label for FER+)."""

    name: str
    images: np.ndarray
    labels: np.ndarray


@dataclasses.dataclass(frozen=True)
class Splits:
    validation: Scored
    reported: tuple[Scored, ...]


def run_read(folder: Path) -> Run:
    """A run folder's record: run.json and history.csv."""
    info = json.loads((folder / "run.json").read_text())
    return Run(folder, info["config"], list(info.get("commands", [])), history_read(folder / "history.csv"), info)


def splits_load(run: Run, *, data: str, ferplus: str | None) -> Splits:
    """The validation faces the run's choices are made on, and the splits the card reports."""
    from ml.training import ferplus as votes
    from ml.training.data import load_split, stratified_split, test_halves

    test, _ = load_split(data, "test")
    public, private = test_halves(test)
    fer2013 = (
        Scored("public_test", public.images, public.labels),
        Scored("private_test", private.images, private.labels),
        Scored("all_test", test.images, test.labels),
    )
    if run.labels == "ferplus":
        if not ferplus:
            raise ValueError(f"{run.folder} learned FER+'s votes: pass --ferplus, the FER+ folder.")

        def majority(split: str, name: str) -> Scored:
            loaded = votes.votes_load(ferplus, split)
            scored = loaded.scored()
            return Scored(name, loaded.images[scored], loaded.majority[scored])

        validation = majority("public-test", "ferplus_public_test")
        return Splits(validation, (validation, majority("private-test", "ferplus_private_test"), *fer2013))
    validation = Scored("public_test", public.images, public.labels)
    if run.config.get("validation_fraction"):
        train, _ = load_split(data, "train")
        _, held_out = stratified_split(train, run.config["validation_fraction"], run.config["seed"])
        validation = Scored("validation", held_out.images, held_out.labels)
    return Splits(validation, (validation, *fer2013) if validation.name == "validation" else fer2013)


def litert_predictor(model, batch_size: int = 256):
    """Predict in batches of `batch_size` with a LiteRTModel (which keeps an interpreter per batch size)."""
    return lambda x: np.concatenate(
        [model.predict_on_batch(x[start : start + batch_size]) for start in range(0, len(x), batch_size)]
    )


def tta_choose(accuracy: dict[str, float]) -> str:
    """The TTA mode with the best validation accuracy (the fewest views on a tie)."""
    return max(accuracy, key=lambda mode: (accuracy[mode], -TTA_MODES.index(mode)))


def export_measure(model, served, splits: Splits, modes: Sequence[str]) -> dict:
    """Everything the card reports, measured on the LiteRT export (`served`), the runtime the site serves."""
    from ml.runtime.preprocessing import preprocess_faces
    from ml.training.evaluate import classification_metrics, keras_predictor, predict_probabilities, split_metrics

    def probabilities(scored: Scored, mode: str, predictor=None) -> np.ndarray:
        return predict_probabilities(predictor or litert_predictor(served), preprocess_faces(scored.images), mode)

    validation = splits.validation
    selection = {
        mode: round(classification_metrics(validation.labels, probabilities(validation, mode))["accuracy"], 4)
        for mode in modes
    }
    chosen = tta_choose(selection)
    served_validation = probabilities(validation, chosen)
    keras_validation = probabilities(validation, chosen, keras_predictor(model))
    return {
        "tta": chosen,
        "tta_validation_accuracy": selection,
        **{scored.name: split_metrics(scored.labels, probabilities(scored, chosen)) for scored in splits.reported},
        "speed": speed_measure(served, chosen),
        "litert_agreement": {
            "faces": len(served_validation),
            "same_emotion": round(float((served_validation.argmax(1) == keras_validation.argmax(1)).mean()), 5),
            "max_probability_difference": float(f"{np.abs(served_validation - keras_validation).max():.2g}"),
        },
    }


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
    from ml.runtime.preprocessing import tta_views

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


def portable_command(command: str, *, data: str | None, ferplus: str | None) -> str:
    """A recorded command with the data folders named by their variables, never where they lay."""
    command = portable(command, data) if data else command
    return command.replace(ferplus, FERPLUS_VARIABLE) if ferplus else command


def card_build(*, run: Run, version: str, model, size_bytes: int, splits: Splits, measured: dict, command: str) -> dict:
    """The flat model card: what the model is, its data, recipe, metrics, TTA, speed and size."""
    import keras

    ferplus = run.labels == "ferplus"
    recipe = {key: value for key, value in run.config.items() if key not in {"data", "ferplus", "out"}}
    recipe["augmentation"] = dataclasses.asdict(
        AugmentConfig(erase_probability=run.config.get("erase_probability", 0.5))
    )
    paths = {"data": run.config.get("data"), "ferplus": run.config.get("ferplus")}
    reported = {scored.name: measured[scored.name] for scored in splits.reported}
    return {
        "version": version,
        "file": MODEL_FILE,
        "architecture": run.config.get("arch"),
        "width": run.config.get("width"),
        "parameters": int(model.count_params()),
        "size_bytes": size_bytes,
        "labels": list(LABELS),
        "input": "uint8 grayscale face, resized to 48x48 by ml.runtime.preprocessing.preprocess_faces; "
        "float pixels 0..255, scaled inside the model",
        "weights": "stored in float16, rounded to bfloat16's precision (8 significant bits); "
        "load with ml.training.models.load_model, which computes in float32",
        "data": (
            "FER+ (FER-2013's training faces with ten taggers' votes each; contempt and unknown votes dropped, "
            "faces that are not a face left out): the votes as soft targets"
            if ferplus
            else "FER-2013 (Kaggle msambare/fer2013): train/ with its one label per face"
        ),
        "train_faces": int(sum(run.info.get("counts", {}).get("train", {}).values())),
        "validation_data": (
            f"{splits.validation.name} ({len(splits.validation.labels)} faces): every choice (epoch, TTA) made on it"
        ),
        "reported_once": "PrivateTest (FER2013Test for FER+): measured when this version shipped, never used to choose",
        "teacher": run.config.get("teacher"),
        "recipe": recipe,
        "epochs_planned": run.config.get("epochs"),
        "epochs_run": len(run.history),
        "best_epoch": run.best_epoch,
        "tta_registered": list(measured["tta_validation_accuracy"]),
        "tta": measured["tta"],
        "tta_validation_accuracy": measured["tta_validation_accuracy"],
        **reported,
        "speed": measured["speed"],
        "date": dt.datetime.now(dt.UTC).date().isoformat(),
        "trained_with": {"keras": run.info.get("keras"), "backend": run.info.get("backend")},
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "train_command": [portable_command(command, **paths) for command in run.commands],
        "ship_command": command,
        "runtime": f"the site runs {LITERT_FILE}, the LiteRT export of {MODEL_FILE}, on ai-edge-litert; "
        "the metrics, the TTA choice and the speed are measured on it",
        "litert_file": LITERT_FILE,
        "litert_agreement": measured["litert_agreement"],
    }


def ship(
    run_dir: Path,
    version: str,
    *,
    data: str,
    ferplus: str | None = None,
    artifacts: Path = ARTIFACTS_DIR,
    command: str = "",
    modes: Sequence[str] = ("plain", "flip", "vshift"),
    litert_weights: str = "int8",
) -> dict:
    """Store, measure and describe a run's best net as the site's model; returns the card."""
    if not 1 <= len(modes) <= MAX_REGISTERED_MODES or len(set(modes)) != len(modes):
        raise ValueError(f"Register one to {MAX_REGISTERED_MODES} different TTA modes with --modes.")
    if not (run_dir / "run.json").is_file() or not (run_dir / "best.keras").is_file():
        raise FileNotFoundError(f"{run_dir} holds no finished run (run.json and best.keras).")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from ml.runtime.inference import LiteRTModel
    from ml.training.export import export_litert, save_for_inference
    from ml.training.models import load_model

    run = run_read(run_dir)
    splits = splits_load(run, data=data, ferplus=ferplus)
    artifacts.mkdir(parents=True, exist_ok=True)
    stored, stored_litert = artifacts / f"{MODEL_FILE}.tmp.keras", artifacts / f"{LITERT_FILE}.tmp.tflite"
    save_for_inference(load_model(run_dir / "best.keras"), stored)
    try:
        model = load_model(stored)  # the file that ships, float16 weights and all
        export_litert(model, stored_litert, weights=litert_weights)
        measured = export_measure(model, LiteRTModel(stored_litert), splits, tuple(modes))
        size_check(stored, stored_litert)
    except BaseException:
        stored.unlink(missing_ok=True)
        stored_litert.unlink(missing_ok=True)
        raise
    size, litert_size = stored.stat().st_size, stored_litert.stat().st_size
    os.replace(stored, artifacts / MODEL_FILE)
    os.replace(stored_litert, artifacts / LITERT_FILE)
    card = card_build(
        run=run,
        version=version,
        model=model,
        size_bytes=size,
        splits=splits,
        measured=measured,
        command=portable_command(command, data=data, ferplus=ferplus),
    )
    card["litert_weights"] = litert_weights
    card["litert_size_bytes"] = litert_size
    card = json.loads(json.dumps(card))  # what the file holds: tuples become lists
    (artifacts / MODEL_CARD).write_text(json.dumps(card, indent=2) + "\n")
    print(card_summary(card))
    return card


def card_summary(card: dict) -> str:
    agreement = card["litert_agreement"]
    lines = [
        f"Shipped {card['version']} ({card['size_bytes'] / 2**20:.1f} MB, {card['parameters']:,} parameters), "
        f"TTA {card['tta']}, {card['speed']['ms_per_face']} ms a face batched",
        f"  served as {card['litert_file']} ({card['litert_size_bytes'] / 2**20:.1f} MB): the same emotion as "
        f"the .keras file for {agreement['same_emotion']:.2%} of validation faces",
    ]
    for name, split in card.items():
        if isinstance(split, dict) and "interval_95" in split:
            low, high = split["interval_95"]
            lines.append(
                f"  {name:<21} {split['accuracy']:.4f} [{low:.4f}, {high:.4f}]  min recall "
                f"{min(split['recall'].values()):.3f}  ({split['images']} faces)"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from ml.training.export import LITERT_WEIGHTS  # Keras: only once the command runs

    parser = argparse.ArgumentParser(prog="python -m ml.training.ship", description=__doc__.split("\n")[0])
    parser.add_argument("--run", required=True, help="a run folder of ml.training.train or ml.training.distill")
    parser.add_argument("--data", required=True, help="FER-2013 folder holding train/ and test/")
    parser.add_argument("--ferplus", help="FER+ folder (for a run trained on FER+'s votes)")
    parser.add_argument("--version", required=True, help="e.g. emotion-vggnet32-fp-2026.12")
    parser.add_argument(
        "--modes",
        nargs="+",
        choices=TTA_MODES,
        default=["plain", "flip", "vshift"],
        help=f"the TTA modes registered before any is scored (at most {MAX_REGISTERED_MODES}); the best ships",
    )
    parser.add_argument("--artifacts", default=str(ARTIFACTS_DIR), help="where the model and its card go")
    parser.add_argument("--litert-weights", choices=LITERT_WEIGHTS, default="int8", help="the LiteRT export's")
    args = parser.parse_args(argv)
    command = "python -m ml.training.ship " + shlex.join(sys.argv[1:] if argv is None else argv)
    with refusals_as_errors("python -m ml.training.ship"):
        ship(
            Path(args.run),
            args.version,
            data=args.data,
            ferplus=args.ferplus,
            artifacts=Path(args.artifacts),
            command=command,
            modes=tuple(args.modes),
            litert_weights=args.litert_weights,
        )


if __name__ == "__main__":
    main()
