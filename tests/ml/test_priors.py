import numpy as np
import pytest

from ml.priors import apply_prior_shift, fit_prior_shift, recalls


def skewed_predictions(rng: np.random.Generator, count: int = 3000):
    """Three classes whose scorer under-calls class 2: its true rows lean to class 0."""
    labels = rng.integers(0, 3, count)
    logits = rng.normal(0, 1, (count, 3))
    logits[np.arange(count), labels] += 1.5
    logits[labels == 2, 0] += 2.5  # class 2 mostly read as class 0
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return probabilities, labels


def test_the_fitted_shift_lifts_the_weak_class_to_the_target():
    probabilities, labels = skewed_predictions(np.random.default_rng(0))
    before = recalls(labels, probabilities.argmax(axis=1), 3)
    assert before[2] < 0.4  # the premise

    shift = fit_prior_shift(probabilities, labels, min_recall=0.5)

    after = recalls(labels, apply_prior_shift(probabilities, shift).argmax(axis=1), 3)
    assert after.min() >= 0.5
    assert shift[2] > shift[0]


def test_no_shift_when_every_class_already_meets_the_target():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, 500)
    probabilities = np.full((500, 4), 0.1)
    probabilities[np.arange(500), labels] = 0.7

    shift = fit_prior_shift(probabilities, labels, min_recall=0.4)

    np.testing.assert_array_equal(shift, np.zeros(4))


def test_applied_shift_keeps_rows_summing_to_one_and_zero_changes_nothing():
    probabilities, _ = skewed_predictions(np.random.default_rng(2), 50)
    np.testing.assert_allclose(apply_prior_shift(probabilities, np.zeros(3)), probabilities, rtol=1e-6)
    shifted = apply_prior_shift(probabilities, np.array([0.0, -1.0, 2.0]))
    np.testing.assert_allclose(shifted.sum(axis=1), 1.0)
    assert (shifted[:, 2] > probabilities[:, 2]).all()


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError, match="one label per row"):
        fit_prior_shift(np.ones((3, 2)) / 2, np.array([0, 1]), min_recall=0.4)
