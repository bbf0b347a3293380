"""The study's comparison table: for each architecture, best epoch and train / validation / test accuracy and loss.

    python -m ml.training.compare --runs runs/* --out reports

Reads each run folder's `history.csv` (training history), `run.json` and
`evaluation.json` (from `python -m ml.training.evaluate --model RUN/model.keras`) and
writes `comparison.md` and `comparison.png` (test accuracy per architecture,
beside the study's).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ml.training.cli import history_read

# Test accuracy reported by the study we build on (Keras, augmentation, FER-2013).
STUDY_TEST_ACCURACY = {"cnn": 0.67, "resnet50v2": 0.68, "efficientnetb0": 0.68, "vgg16": 0.63}


def run_summary(run_dir: Path) -> dict:
    """One row of the table from a run folder of `ml.training.train`; missing pieces stay None."""
    run = json.loads((run_dir / "run.json").read_text())
    history = history_read(run_dir / "history.csv")
    validated = any("val_accuracy" in row for row in history)
    best = max(history, key=lambda row: row.get("val_accuracy", 0.0)) if validated else (history or [{}])[-1]

    row = {
        "name": run_dir.name,
        "arch": run["config"]["arch"],
        "parameters": run.get("parameters"),
        "epochs_run": len(history),
        "epochs_planned": run["config"]["epochs"],
        "best_epoch": int(best["epoch"]) if best else None,
        "train_accuracy": best.get("accuracy"),
        "train_loss": best.get("loss"),
        "validation_accuracy": best.get("val_accuracy"),
        "validation_loss": best.get("val_loss"),
        "test_accuracy": None,
        "test_loss": None,
        "test_accuracy_flip": None,
        "test_accuracy_tencrop": None,
        "min_recall": None,
    }
    evaluation_path = run_dir / "evaluation.json"
    if evaluation_path.exists():
        results = json.loads(evaluation_path.read_text())["results"]
        plain = results.get("plain", {})
        row.update(
            test_accuracy=plain.get("accuracy"),
            test_loss=plain.get("loss"),
            test_accuracy_flip=results.get("flip", {}).get("accuracy"),
            test_accuracy_tencrop=results.get("tencrop", {}).get("accuracy"),
            min_recall=plain.get("min_recall"),
        )
    return row


def _cell(value, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _nets(ensemble: dict) -> int:
    # Evaluations written before ml.training.ensemble counted nets list one model per net.
    return ensemble.get("nets") or len(ensemble.get("models", []))


def comparison_markdown(rows: list[dict], ensembles: list[dict] | None = None) -> str:
    lines = [
        "# Architecture comparison on FER-2013",
        "",
        "Best epoch by validation accuracy (stratified 20% of train, fixed seed). Train accuracy and loss are"
        " measured on augmented batches with dropout active, and the loss includes label smoothing and class"
        " weights, so they read lower than validation. Test: the 7,178 test images; flip and 10-crop are"
        " test-time augmentation. A run with no validation accuracy trained on all of train (validation"
        " fraction 0) with a schedule fixed beforehand, and its last epoch is the model.",
        "",
        "| run | architecture | parameters | epochs (run / planned) | best epoch | train acc | train loss"
        " | val acc | val loss | test acc | test loss | test acc, flip | test acc, 10-crop | min class recall |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        params = f"{row['parameters'] / 1e6:.2f} M" if row["parameters"] else "-"
        lines.append(
            f"| {row['name']} | {row['arch']} | {params} | {row['epochs_run']} / {row['epochs_planned']}"
            f" | {row['best_epoch']} | {_cell(row['train_accuracy'])} | {_cell(row['train_loss'])}"
            f" | {_cell(row['validation_accuracy'])} | {_cell(row['validation_loss'])}"
            f" | {_cell(row['test_accuracy'])} | {_cell(row['test_loss'])} | {_cell(row['test_accuracy_flip'])}"
            f" | {_cell(row['test_accuracy_tencrop'])} | {_cell(row['min_recall'], 3)} |"
        )
    for ensemble in ensembles or []:
        results = ensemble["results"]
        lines.append(
            f"| {ensemble['name']} | ensemble of {_nets(ensemble)} | - | - | - | - | - | - | -"
            f" | {_cell(results.get('plain', {}).get('accuracy'))} | {_cell(results.get('plain', {}).get('loss'))}"
            f" | {_cell(results.get('flip', {}).get('accuracy'))} | {_cell(results.get('tencrop', {}).get('accuracy'))}"
            f" | {_cell(results.get('plain', {}).get('min_recall'), 3)} |"
        )
    lines += ["", "The study's test accuracy, for reference:", "", "| architecture | test acc |", "| --- | ---: |"]
    lines += [f"| {arch} | {accuracy:.2f} |" for arch, accuracy in STUDY_TEST_ACCURACY.items()]
    return "\n".join(lines) + "\n"


def plot_comparison(rows: list[dict], path: Path, ensembles: list[dict] | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names, ours = [], []
    for row in rows:
        if row["test_accuracy"] is not None:
            names.append(row["name"])
            ours.append(
                max(
                    v
                    for v in (row["test_accuracy"], row["test_accuracy_flip"], row["test_accuracy_tencrop"])
                    if v is not None
                )
            )
    for ensemble in ensembles or []:
        names.append(ensemble["name"])
        ours.append(max(m["accuracy"] for m in ensemble["results"].values()))
    figure, axis = plt.subplots(figsize=(9, 4.5))
    study_names = [f"study: {arch}" for arch in STUDY_TEST_ACCURACY]
    axis.bar(study_names, list(STUDY_TEST_ACCURACY.values()), color="#9aa5b1", label="the study")
    bars = axis.bar(names, ours, color="#2f6db5", label="ours (best TTA)")
    axis.bar_label(bars, fmt="%.3f", fontsize=8)
    axis.axhline(0.70, color="#c0392b", linestyle="--", linewidth=1, label="target 0.70")
    axis.set_ylim(0, 0.85)
    axis.set_ylabel("test accuracy")
    axis.set_title("FER-2013 test accuracy")
    axis.tick_params(axis="x", rotation=30)
    axis.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m ml.training.compare", description="Write the architecture comparison."
    )
    parser.add_argument("--runs", nargs="+", required=True, help="run folders (history.csv, run.json, evaluation.json)")
    parser.add_argument("--ensembles", nargs="*", default=[], help="evaluation.json files of ml.training.ensemble")
    parser.add_argument("--out", default="reports")
    args = parser.parse_args(argv)
    rows = [run_summary(Path(run)) for run in args.runs if (Path(run) / "history.csv").exists()]
    if not rows:
        parser.error("none of --runs holds a history.csv; train with `python -m ml.training.train` first.")
    ensembles = [json.loads(Path(path).read_text()) for path in args.ensembles]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "comparison.md").write_text(comparison_markdown(rows, ensembles))
    plot_comparison(rows, out / "comparison.png", ensembles)
    print((out / "comparison.md").read_text())


if __name__ == "__main__":
    main()
