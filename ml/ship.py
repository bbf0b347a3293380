"""Ship a trained model as the one the site uses: ml/artifacts/emotion_model.keras + model_card.json.

    python -m ml.ship --run runs/vggnet --data ../shared/datasets/fer2013 --version emotion-vggnet-2026.11

Saves the run's best model with its weights in float16 (half the file; the
site computes in float32) and no optimizer state, evaluates that file on the
test split (plain, flip and ten-crop TTA), and writes the model card from the
run's recorded recipe and the measured numbers; the evaluation itself (JSON
and confusion matrices) goes to `--report-dir`. `--tta` picks the mode the
site's classifier averages over; `--min-recall` fits a per-class prior shift on the validation split (never
the test split) and saves it inside the model. `--ensemble-with MODEL...`
ships the mean of the run's model and those models' probabilities as one
`.keras` file, their cards kept in the new one. So are the cards of the shipped
models its runs were warm-started from (read before this ship replaces them),
so a chain of snapshots keeps every earlier net's recipe on record.

A run trained on all of train (`--validation-fraction 0`) has nothing to
choose with, so it takes a `--tta` chosen before (by a validated run) and no
`--min-recall`.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from ml.augment import AugmentConfig
from ml.cli import refusals_as_errors
from ml.inference import ARTIFACTS_DIR, MODEL_CARD, read_model_card
from ml.labels import LABELS
from ml.preprocessing import TTA_MODES

MODEL_FILE = "emotion_model.keras"
ARTIFACTS_LIMIT_BYTES = 25 * 1024 * 1024


def validation_predictions(model, run: dict, data: str, modes: tuple[str, ...]):
    """The run's own validation split (same fraction and seed) and the model's probabilities on it per TTA mode."""
    from ml.data import load_split, stratified_split
    from ml.evaluate import keras_predictor, predict_probabilities
    from ml.preprocessing import preprocess_faces

    train_split, _ = load_split(data, "train")
    _, validation = stratified_split(train_split, run["config"]["validation_fraction"], run["seed"])
    batch = preprocess_faces(validation.images)
    return validation, {mode: predict_probabilities(keras_predictor(model), batch, mode) for mode in modes}


def member_description(path: Path) -> dict:
    """What the card says about an `--ensemble-with` model: its own model card or, for a model in a training
    run's folder (no card yet), that run's recipe, epochs and commands, so every net's training stays on record.
    """
    card = read_model_card(path)
    run_path, state_path = path.with_name("run.json"), path.with_name("state.json")
    if card or not (run_path.is_file() and state_path.is_file()):
        return card
    run, state = json.loads(run_path.read_text()), json.loads(state_path.read_text())
    return {
        "architecture": run["config"]["arch"],
        "parameters": run.get("parameters"),
        "train_images": sum(run["train_counts"].values()),
        "recipe": run["config"],
        "init_from_version": run.get("init_from_version"),
        "epochs": run_epochs(state),
        "trained_with": trained_with(run),
        "command": {"train": train_commands(run, state)},
    }


def trained_with(run: dict) -> dict:
    """The Keras and backend a run trained on (a GPU run trains on JAX; the card's own are the ship's)."""
    return {"keras": run.get("keras"), "backend": run.get("backend")}


def warm_start_cards(descriptions: Sequence[dict]) -> dict[str, dict]:
    """The cards of the shipped models that runs were warm-started from, by version.

    `descriptions` are run.json files or member descriptions (whose recipe is the run's config). A ship
    replaces the file a warm start read, and with it the card saying how the nets it began from were
    trained, so read it while it is there, and only when it is still the version the run recorded.
    """
    cards: dict[str, dict] = {}
    for description in descriptions:
        version = description.get("init_from_version")
        source = (description.get("config") or description.get("recipe") or {}).get("init_from")
        if not version or not source or version in cards:
            continue
        card = read_model_card(source)
        if card.get("version") == version:
            cards[version] = card
    return cards


def run_epochs(state: dict) -> dict:
    return {"planned": state["config"]["epochs"], "run": state["epoch"], "best": state["best_epoch"]}


def train_commands(run: dict, state: dict) -> list[str]:
    """Every command that trained the run: the first and each --resume."""
    return state.get("commands", [run["command"]])


def _summary(metrics: dict) -> dict:
    recall = {label: round(row["recall"], 4) for label, row in metrics["per_class"].items()}
    return {"accuracy": round(metrics["accuracy"], 4), "recall": recall}


def choose_tta(labels, probabilities: dict) -> tuple[str, dict]:
    """The TTA mode with the best validation accuracy (the fewest views on a tie), and every mode's accuracy."""
    from ml.evaluate import classification_metrics

    accuracy = {mode: round(classification_metrics(labels, p)["accuracy"], 4) for mode, p in probabilities.items()}
    return max(accuracy, key=lambda mode: (accuracy[mode], -TTA_MODES.index(mode))), accuracy


def fit_validation_shift(model, labels, probabilities, tta: str, min_recall: float) -> tuple[dict, object]:
    """Fit a per-class prior shift on validation predictions; returns its report and the shifted model."""
    import numpy as np

    from ml.evaluate import classification_metrics
    from ml.models import with_prior_shift
    from ml.priors import apply_prior_shift, fit_prior_shift

    shift = fit_prior_shift(probabilities, labels, min_recall=min_recall)
    report = {
        "fitted_on": f"validation split ({len(labels)} images), {tta} TTA",
        "min_recall": min_recall,
        "shift": {label: float(value) for label, value in zip(LABELS, shift, strict=True)},
        "validation_before": _summary(classification_metrics(labels, probabilities)),
        "validation_after": _summary(classification_metrics(labels, apply_prior_shift(probabilities, shift))),
    }
    if not np.any(shift):
        return report, model
    return report, with_prior_shift(model, shift)


def ship(
    run_dir: Path,
    data: str,
    version: str,
    *,
    report_dir: Path,
    artifacts: Path = ARTIFACTS_DIR,
    command: str = "",
    modes: tuple[str, ...] = TTA_MODES,
    tta: str = "flip",
    min_recall: float | None = None,
    ensemble_with: Sequence[Path] = (),
) -> dict:
    """Evaluate, save and describe a run's best model (or its ensemble with `ensemble_with`) as the site's.

    `tta` is the mode the site will use, or "auto": the best on the validation split.
    """
    if tta != "auto" and tta not in modes:
        raise ValueError(f"--modes must include {tta!r}, the mode the site uses.")
    missing = [str(path) for path in ensemble_with if not Path(path).is_file()]
    if missing:
        raise FileNotFoundError(f"No model to ensemble with at {', '.join(missing)}.")
    # Read before saving: a member may be the model this call replaces.
    member_cards = [member_description(Path(path)) for path in ensemble_with]
    undescribed = [str(path) for path, card in zip(ensemble_with, member_cards, strict=True) if not card]
    if undescribed:
        # A copy of the shipped file without its card would ship a card that has lost how its nets were trained.
        raise ValueError(
            f"Nothing describes {', '.join(undescribed)}: keep a shipped model's model_card.json beside it "
            "(a copy must keep the name emotion_model.keras), or pass a training run's model.keras."
        )
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from ml.data import load_split
    from ml.evaluate import evaluate_predictor, format_report, keras_predictor, write_results
    from ml.models import load_model, save_for_inference

    state = json.loads((run_dir / "state.json").read_text())
    run = json.loads((run_dir / "run.json").read_text())
    init_from_cards = warm_start_cards([run, *member_cards])
    validated = sum(run["validation_counts"].values()) > 0
    if not validated and (tta == "auto" or min_recall is not None):
        raise ValueError(
            f"{run_dir} trained on all of train and has no validation split to choose on: "
            "pass --tta plain, flip or tencrop (as chosen for a validated run) and no --min-recall."
        )
    source = run_dir / "best.keras"
    model = load_model(source)  # float32, whatever precision it was trained in
    prior_shift, tta_selection = None, None
    if tta == "auto" or min_recall is not None:
        candidates = modes if tta == "auto" else (tta,)
        validation, probabilities = validation_predictions(model, run, data, candidates)
        if tta == "auto":
            tta, accuracy = choose_tta(validation.labels, probabilities)
            tta_selection = {"chosen_on": "validation split", "validation_accuracy": accuracy}
            print(f"TTA on validation: {accuracy}; the site will use {tta}.")
        if min_recall is not None:
            prior_shift, model = fit_validation_shift(model, validation.labels, probabilities[tta], tta, min_recall)
            print(f"Prior shift fitted on validation: {prior_shift}")
    architecture = model.name
    ensemble = None
    if ensemble_with:
        from ml.models import build_ensemble

        others = [load_model(path) for path in ensemble_with]
        model = build_ensemble([model, *others])
        names = [architecture]
        for card, other in zip(member_cards, others, strict=True):
            # An ensemble member joins as its nets (build_ensemble flattens it), so list theirs.
            names.extend((card.get("architecture") or other.name).removeprefix("ensemble of ").split(", "))
        architecture = f"ensemble of {', '.join(names)}"
        ensemble = {
            "combination": "mean of the nets' probabilities, each after its own prior shift; "
            "a member that is an ensemble counts as its nets, so every net weighs the same",
            "members": [
                {"source": str(source), "described_by": "this card's recipe, data and epochs"},
                *({"source": str(path), "card": card} for path, card in zip(ensemble_with, member_cards, strict=True)),
            ],
        }
    artifacts.mkdir(parents=True, exist_ok=True)
    target = artifacts / MODEL_FILE
    tmp = artifacts / f"{MODEL_FILE}.tmp.keras"
    save_for_inference(model, tmp)
    try:
        model = load_model(tmp)  # measure the file that ships, float16 weights and all
        test, report = load_split(data, "test")
        results, _ = evaluate_predictor(keras_predictor(model), test.images, test.labels, modes)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    print(format_report(version, results))
    write_results(version, results, report_dir, {"model": str(source), "data": data, "images": len(test)})
    os.replace(tmp, target)
    best = next((r for r in state["history"] if r["epoch"] == state["best_epoch"]), {})
    chosen = results[tta]
    card = {
        "version": version,
        "file": MODEL_FILE,
        "architecture": architecture,
        "parameters": int(model.count_params()),
        "labels": list(LABELS),
        "input": "uint8 grayscale face, resized to 48x48 by ml.preprocessing.preprocess_faces; "
        "float pixels 0..255, scaled inside the model",
        # keras.models.load_model alone would compute in float16, slowly and less exactly on a CPU.
        "weights": "stored in float16, rounded to bfloat16's precision (8 significant bits); "
        "load with ml.models.load_model, which computes in float32",
        "data": {
            "name": "FER-2013 (Kaggle msambare/fer2013 folder layout)",
            "train_images": sum(run["train_counts"].values()),
            "validation_images": sum(run["validation_counts"].values()),
            "validation": f"stratified {run['config']['validation_fraction']:.0%} of train, seed {run['seed']}"
            if validated
            else "none: trained on all of train, the last epoch of a schedule fixed beforehand kept",
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
        # The file a warm start read is replaced by later ships; its version says which model it was.
        "init_from_version": run.get("init_from_version"),
        "init_from_cards": init_from_cards,
        "epochs": run_epochs(state),
        "validation_accuracy": best.get("val_accuracy"),
        "prior_shift": prior_shift,
        "ensemble": ensemble,
        "test_accuracy": chosen["accuracy"],
        "test_loss": chosen["loss"],
        "test_accuracy_by_tta": {mode: metrics["accuracy"] for mode, metrics in results.items()},
        "per_class_recall": {label: row["recall"] for label, row in chosen["per_class"].items()},
        "per_class_f1": {label: row["f1"] for label, row in chosen["per_class"].items()},
        "inference": {"tta": tta, "flip_tta": tta != "plain", "tta_selection": tta_selection},
        "date": dt.datetime.now(dt.UTC).date().isoformat(),
        "trained_with": trained_with(run),
        # What saved and measured the shipped file.
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "command": {"train": train_commands(run, state), "ship": command},
    }
    card = json.loads(json.dumps(card))  # what the file holds: tuples become lists
    (artifacts / MODEL_CARD).write_text(json.dumps(card, indent=2) + "\n")
    total = sum(p.stat().st_size for p in artifacts.iterdir() if p.is_file())
    if total > ARTIFACTS_LIMIT_BYTES:
        raise RuntimeError(f"{artifacts} holds {total / 2**20:.1f} MB, over the 25 MB the repository allows.")
    print(
        f"Shipped {target} ({target.stat().st_size / 2**20:.1f} MB) as {version}: test accuracy "
        f"{chosen['accuracy']:.4f} ({tta})."
    )
    return card


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ml.ship", description="Ship a run's best model to ml/artifacts.")
    parser.add_argument("--run", required=True, help="a training run folder (best.keras, state.json, run.json)")
    parser.add_argument("--data", required=True, help="FER-2013 folder holding test/")
    parser.add_argument("--version", required=True, help="e.g. emotion-vggnet-2026.11")
    parser.add_argument("--report-dir", default="reports/shipped")
    parser.add_argument("--modes", nargs="+", choices=TTA_MODES, default=list(TTA_MODES), help="TTA modes to evaluate")
    parser.add_argument(
        "--tta",
        choices=(*TTA_MODES, "auto"),
        default="flip",
        help="the TTA mode the site will use; auto: the best on the validation split",
    )
    parser.add_argument(
        "--min-recall",
        type=float,
        default=None,
        help="fit a per-class prior shift on the validation split so every class reaches this recall there",
    )
    parser.add_argument(
        "--ensemble-with",
        nargs="+",
        default=[],
        metavar="MODEL",
        help="ship the mean of the run's model and these .keras models (their model cards are kept in the new card)",
    )
    args = parser.parse_args(argv)
    command = "python -m ml.ship " + shlex.join(sys.argv[1:] if argv is None else argv)
    with refusals_as_errors("python -m ml.ship"):
        ship(
            Path(args.run),
            args.data,
            args.version,
            report_dir=Path(args.report_dir),
            command=command,
            modes=tuple(args.modes),
            tta=args.tta,
            min_recall=args.min_recall,
            ensemble_with=[Path(path) for path in args.ensemble_with],
        )


if __name__ == "__main__":
    main()
