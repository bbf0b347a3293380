"""Evaluate a trained model on FER-2013's test split, with and without test-time augmentation.

    python -m ml.training.evaluate --model runs/vggnet/model.keras --data "$FER_DATA" --out reports/evaluate

Prints and writes (`evaluation.json`, `confusion_<mode>.png`) accuracy, loss,
per-class precision / recall / F1 and the confusion matrix for each mode:
`plain` (the face as is), `flip` (averaged with its mirror image) and
`tencrop` (five 48x48 crops of the face reflect-padded by 4 pixels, the
centre and the four corners, each with its mirror: the shifts the model saw
in training) and `vshift` (the face and the face moved 2 pixels up and
down, each with its mirror).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ml.runtime.labels import LABELS
from ml.runtime.preprocessing import TTA_MODES, tta_views
from ml.training.cli import DATA_VARIABLE, refusals_as_errors

Z_95 = 1.959964  # the normal quantile of a two-sided 95 % interval

__all__ = ["TTA_MODES", "classification_metrics", "confusion_matrix", "evaluate_predictor", "tta_views"]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int = len(LABELS)) -> np.ndarray:
    """Counts (num_classes, num_classes): rows are the true class, columns the predicted one."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return matrix


def classification_metrics(y_true: np.ndarray, probabilities: np.ndarray) -> dict:
    """Accuracy, mean cross-entropy loss, per-class precision / recall / F1 / support, confusion matrix."""
    y_true = np.asarray(y_true)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    y_pred = probabilities.argmax(axis=1)
    matrix = confusion_matrix(y_true, y_pred, probabilities.shape[1])
    true_positives = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0)
    actual = matrix.sum(axis=1)
    precision = np.divide(true_positives, predicted, out=np.zeros_like(true_positives), where=predicted > 0)
    recall = np.divide(true_positives, actual, out=np.zeros_like(true_positives), where=actual > 0)
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros_like(denominator), where=denominator > 0)
    picked = probabilities[np.arange(len(y_true)), y_true]
    loss = float(-np.log(np.clip(picked, 1e-7, 1.0)).mean()) if len(y_true) else 0.0
    per_class = {
        label: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(actual[i]),
        }
        for i, label in enumerate(LABELS[: probabilities.shape[1]])
    }
    return {
        "accuracy": float(true_positives.sum() / max(1, len(y_true))),
        "loss": loss,
        "macro_f1": float(f1.mean()),
        "min_recall": float(recall.min()),
        "per_class": per_class,
        "confusion_matrix": matrix.tolist(),
    }


def accuracy_interval(correct: int, total: int) -> tuple[float, float]:
    """Wilson's 95 % interval for an accuracy of `correct` out of `total`."""
    if total == 0:
        return (0.0, 0.0)
    p = correct / total
    centre = (p + Z_95**2 / (2 * total)) / (1 + Z_95**2 / total)
    half = Z_95 * math.sqrt(p * (1 - p) / total + Z_95**2 / (4 * total**2)) / (1 + Z_95**2 / total)
    return (round(centre - half, 4), round(centre + half, 4))


def split_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    """Accuracy with its 95 % interval, loss, macro F1 and per-class recall for one split."""
    metrics = classification_metrics(labels, probabilities)
    correct = round(metrics["accuracy"] * len(labels))
    return {
        "images": len(labels),
        "accuracy": round(metrics["accuracy"], 4),
        "interval_95": list(accuracy_interval(correct, len(labels))),
        "loss": round(metrics["loss"], 4),
        "macro_f1": round(metrics["macro_f1"], 4),
        "recall": {label: round(row["recall"], 4) for label, row in metrics["per_class"].items()},
    }


def predict_probabilities(
    predict: Callable[[np.ndarray], np.ndarray], batch: np.ndarray, mode: str = "plain"
) -> np.ndarray:
    """Average `predict` over the TTA views of `batch`."""
    views = tta_views(batch, mode)
    return np.mean([np.asarray(predict(view)) for view in views], axis=0)


def keras_predictor(model, batch_size: int = 256) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: model.predict(x, batch_size=batch_size, verbose=0)


def plot_confusion(matrix: np.ndarray, path: Path, title: str) -> None:
    """Row-normalised confusion matrix (recall on the diagonal) with the counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(matrix)
    normalised = matrix / np.maximum(1, matrix.sum(axis=1, keepdims=True))
    figure, axis = plt.subplots(figsize=(7, 6))
    image = axis.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    axis.set_xticks(range(len(LABELS)), LABELS, rotation=45, ha="right")
    axis.set_yticks(range(len(LABELS)), LABELS)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(title)
    for row in range(len(LABELS)):
        for col in range(len(LABELS)):
            colour = "white" if normalised[row, col] > 0.5 else "black"
            axis.text(
                col,
                row,
                f"{normalised[row, col]:.2f}\n{matrix[row, col]}",
                ha="center",
                va="center",
                fontsize=7,
                color=colour,
            )
    figure.colorbar(image, ax=axis, fraction=0.046)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def format_report(name: str, results: dict) -> str:
    """A plain-text summary, one block per TTA mode."""
    lines = [f"# {name}"]
    for mode, metrics in results.items():
        lines.append(
            f"\n## {mode}: accuracy {metrics['accuracy']:.4f}, loss {metrics['loss']:.4f}, "
            f"macro F1 {metrics['macro_f1']:.4f}"
        )
        lines.append(f"{'class':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
        for label, row in metrics["per_class"].items():
            lines.append(
                f"{label:<10}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['f1']:>10.3f}{row['support']:>10}"
            )
    return "\n".join(lines)


def evaluate_predictor(
    predict: Callable[[np.ndarray], np.ndarray],
    images: np.ndarray,
    labels: np.ndarray,
    modes: Sequence[str] = TTA_MODES,
) -> tuple[dict, dict[str, np.ndarray]]:
    """Metrics and probabilities for each TTA mode on uint8 (N, 48, 48) images."""
    from ml.runtime.preprocessing import preprocess_faces

    batch = preprocess_faces(images)
    results, probabilities = {}, {}
    for mode in modes:
        probabilities[mode] = predict_probabilities(predict, batch, mode)
        results[mode] = classification_metrics(labels, probabilities[mode])
    return results, probabilities


def write_results(name: str, results: dict, out: Path, extra: dict | None = None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for mode, metrics in results.items():
        plot_confusion(
            np.asarray(metrics["confusion_matrix"]),
            out / f"confusion_{mode}.png",
            f"{name} ({mode}): accuracy {metrics['accuracy']:.3f}",
        )
    payload = {
        "name": name,
        "evaluated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "labels": list(LABELS),
        **(extra or {}),
        "results": results,
    }
    path = out / "evaluation.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def test_halves_report(test, probabilities: dict[str, np.ndarray]) -> dict[str, dict]:
    """Per TTA mode: PublicTest, PrivateTest and all of test, each with its 95 % interval.

    Reported side by side because the literature validates on PublicTest and
    reports PrivateTest; a model chosen on either half says so in its card.
    """
    from ml.training.data import PUBLIC_TEST_PREFIX

    public = np.array([Path(path).name.startswith(PUBLIC_TEST_PREFIX) for path in test.paths])
    report = {}
    for mode, p in probabilities.items():
        report[mode] = {
            "public_test": split_metrics(test.labels[public], p[public]),
            "private_test": split_metrics(test.labels[~public], p[~public]),
            "all_test": split_metrics(test.labels, p),
        }
    return report


def ferplus_report(
    predict: Callable[[np.ndarray], np.ndarray], root: str | Path, modes: Sequence[str], splits: Sequence[str]
) -> dict[str, dict]:
    """Per TTA mode and FER+ split: the model scored against FER+'s votes rather than FER-2013's one label.

    `majority` scores the faces that have a majority label (`ml.training.ferplus`: more than half of the
    emotion votes); `plurality` scores every face, right when the reading is an emotion that got the most
    votes (so a tie counts as right for either).
    """
    from ml.runtime.preprocessing import preprocess_faces
    from ml.training import ferplus

    report: dict[str, dict] = {mode: {} for mode in modes}
    for split in splits:
        votes = ferplus.votes_load(root, split)
        batch = preprocess_faces(votes.images)
        scored = votes.scored()
        for mode in modes:
            probabilities = predict_probabilities(predict, batch, mode)
            read = probabilities.argmax(axis=1)
            top = votes.votes.max(axis=1)
            plurality = float((votes.votes[np.arange(len(read)), read] >= top - 1e-6).mean()) if len(read) else 0.0
            report[mode][split] = {
                "majority": split_metrics(votes.majority[scored], probabilities[scored]),
                "plurality_accuracy": round(plurality, 4),
                "faces": len(votes),
                "faces_without_majority": int(len(votes) - len(scored)),
            }
    return report


def _portable_path(path: Path) -> str:
    """`path` relative to the repository when it lies inside it, else by its folder and name only."""
    resolved = path.resolve()
    root = Path(__file__).resolve().parents[2]
    return str(resolved.relative_to(root)) if resolved.is_relative_to(root) else f"{path.parent.name}/{path.name}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m ml.training.evaluate", description="Evaluate a model on FER-2013's test split."
    )
    parser.add_argument("--model", required=True, help="a .keras model")
    parser.add_argument("--data", required=True, help="FER-2013 folder holding test/")
    parser.add_argument(
        "--out",
        default=None,
        help="folder for evaluation.json and the confusion matrices (default: the model's folder)",
    )
    parser.add_argument("--modes", nargs="+", choices=TTA_MODES, default=list(TTA_MODES))
    parser.add_argument("--limit-per-class", type=int, default=None)
    parser.add_argument("--ferplus", default=None, help="FER+ folder: also score against its ten taggers' votes")
    parser.add_argument(
        "--split",
        default="test",
        choices=("train", "test", "public-test"),
        help="public-test: the validation half alone, to choose by without reading PrivateTest",
    )
    args = parser.parse_args(argv)
    if args.split == "public-test" and args.limit_per_class:
        # A folder's first files per class are PrivateTest ones: a limit would leave no PublicTest face.
        parser.error("--limit-per-class applies to train and test, not to public-test.")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from ml.training.data import load_split, test_halves
    from ml.training.models import load_model

    model_path = Path(args.model)
    with refusals_as_errors("python -m ml.training.evaluate"):
        model = load_model(model_path)
        if args.split == "public-test":
            test, report = load_split(args.data, "test")
            split, _private_is_not_scored = test_halves(test)
        else:
            split, report = load_split(args.data, args.split, args.limit_per_class)
    results, probabilities = evaluate_predictor(keras_predictor(model), split.images, split.labels, args.modes)
    name = model_path.parent.name + "/" + model_path.name
    print(format_report(name, results))
    halves = test_halves_report(split, probabilities) if args.split == "test" else {}
    for mode, by_half in halves.items():
        for half, metrics in by_half.items():
            low, high = metrics["interval_95"]
            print(f"{mode:>8} {half:<13} {metrics['accuracy']:.4f} [{low:.4f}, {high:.4f}] ({metrics['images']} faces)")
    ferplus_splits = ("public-test",) if args.split == "public-test" else ("public-test", "private-test")
    by_votes = ferplus_report(keras_predictor(model), args.ferplus, args.modes, ferplus_splits) if args.ferplus else {}
    for mode, by_split in by_votes.items():
        for split_name, metrics in by_split.items():
            majority = metrics["majority"]
            print(
                f"{mode:>8} FER+ {split_name:<13} majority {majority['accuracy']:.4f} ({majority['images']} faces), "
                f"plurality {metrics['plurality_accuracy']:.4f} ({metrics['faces']} faces)"
            )
    out = Path(args.out) if args.out else model_path.parent
    path = write_results(
        name,
        results,
        out,
        {
            "model": _portable_path(model_path),
            "data": DATA_VARIABLE,
            "split": args.split,
            "images": len(split),
            "parameters": int(model.count_params()),
            "anomalies": len(report.anomalies),
            "halves": halves,
            "ferplus": by_votes,
        },
    )
    print(f"\nWrote {path}")


if __name__ == "__main__":
    main()
