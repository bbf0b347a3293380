"""Per-class prior shifts: fitted on validation predictions, applied inside the shipped model.

A classifier trained on skewed classes leans towards the frequent ones; adding
a constant to each class's log-probability (logit adjustment, Menon et al.
2021) moves its decision boundaries without retraining. `fit_prior_shift`
looks for the shift that keeps the most validation accuracy while every
class reaches a minimum recall. NumPy only: `ml.models.ClassPriorShift` is
the same arithmetic inside a Keras model.
"""

from __future__ import annotations

import numpy as np

# Candidate shifts per class, in log-probability units (a factor of e^-1.5..e^3).
SHIFT_GRID = np.round(np.arange(-1.5, 3.0001, 0.05), 2)


def apply_prior_shift(probabilities: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Probabilities multiplied by exp(shift) per class and renormalised (rows sum to one)."""
    logits = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), 1e-7, 1.0)) + np.asarray(shift)
    logits -= logits.max(axis=1, keepdims=True)
    shifted = np.exp(logits)
    return shifted / shifted.sum(axis=1, keepdims=True)


def recalls(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    hits = np.bincount(labels[predicted == labels], minlength=num_classes)
    support = np.bincount(labels, minlength=num_classes)
    return hits / np.maximum(1, support)


def _score(log_probabilities: np.ndarray, labels: np.ndarray, shift: np.ndarray, min_recall: float) -> float:
    """Accuracy, less a heavy penalty for each point of recall any class lacks (so the constraint comes first)."""
    predicted = (log_probabilities + shift).argmax(axis=1)
    accuracy = float((predicted == labels).mean())
    shortfall = np.clip(min_recall - recalls(labels, predicted, log_probabilities.shape[1]), 0, None).sum()
    return accuracy - 10.0 * float(shortfall)


def fit_prior_shift(probabilities: np.ndarray, labels: np.ndarray, *, min_recall: float, rounds: int = 6) -> np.ndarray:
    """The per-class shift (zero where none is needed) that meets `min_recall` on these predictions.

    Coordinate ascent over `SHIFT_GRID`, one class at a time, from no shift;
    ties keep the smaller change, so classes that already meet the target stay
    near zero. Fit it on validation predictions, never on the test split.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels)
    if probabilities.ndim != 2 or len(probabilities) != len(labels) or len(labels) == 0:
        raise ValueError("probabilities must be (N, classes) with one label per row.")
    log_probabilities = np.log(np.clip(probabilities, 1e-7, 1.0))
    num_classes = probabilities.shape[1]
    shift = np.zeros(num_classes)
    best = _score(log_probabilities, labels, shift, min_recall)
    by_size = SHIFT_GRID[np.argsort(np.abs(SHIFT_GRID), kind="stable")]
    for _ in range(rounds):
        improved = False
        for cls in range(num_classes):
            for value in by_size:
                trial = shift.copy()
                trial[cls] = value
                score = _score(log_probabilities, labels, trial, min_recall)
                if score > best + 1e-9:
                    best, shift, improved = score, trial, True
        if not improved:
            break
    return shift
