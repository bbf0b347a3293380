"""Per-user calibration: learn from a user's corrections how the model misreads *their* face.

Some faces read consistently wrong: a resting face the model calls "neutral"
on someone who, by their own account, is usually sad. Each user's finished
detections give pairs (what the model said, what the user accepted): the
corrected emotion when they corrected it, else the emotion they were shown.
From those pairs we estimate a confusion matrix C, where C[i, j] is the chance
that the user really feels j when the model's probability mass sits on i,
and a new reading p becomes normalise(p @ C).

The estimate starts from the identity with `PRIOR_STRENGTH` pseudo-readings
per row (a Dirichlet prior), so two or three corrections move little and a
consistent habit moves a lot. Users with fewer than `MIN_CORRECTIONS`
corrections are not calibrated at all: their probabilities are the model's.

The math (`confusion_estimate`, `probabilities_calibrate`) is plain numpy so
that the offline evaluation (`manage.py evaluate_calibration`) runs the very
same code on simulated users.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from accounts.models import User
from ml.runtime.labels import LABELS

MIN_CORRECTIONS = 3
PRIOR_STRENGTH = 4.0
# How many of the user's most recent finished detections teach the calibration:
# habits change, and the query stays bounded.
LEARN_FROM_LAST = 200


def confusion_estimate(
    readings: Iterable[tuple[np.ndarray, int]], *, prior_strength: float = PRIOR_STRENGTH
) -> np.ndarray:
    """Row-stochastic 7x7 matrix from (model probabilities, accepted label index) pairs.

    Each reading spreads its probability mass over the rows (soft counts), so a
    face read 50% neutral and 40% sad teaches both rows in proportion.
    """
    size = len(LABELS)
    counts = np.eye(size) * prior_strength
    for probabilities, label in readings:
        counts[:, label] += np.asarray(probabilities, dtype=np.float64)
    return counts / counts.sum(axis=1, keepdims=True)


def probabilities_calibrate(probabilities: np.ndarray, confusion: np.ndarray) -> np.ndarray:
    """normalise(p @ C): the model's reading re-expressed in what this user tends to mean."""
    calibrated = np.asarray(probabilities, dtype=np.float64) @ confusion
    total = calibrated.sum()
    return calibrated / total if total > 0 else np.full(len(LABELS), 1.0 / len(LABELS))


def as_vector(probabilities: Mapping[str, float]) -> np.ndarray | None:
    """The seven probabilities in LABELS order, or None for a malformed mapping."""
    try:
        vector = np.array([float(probabilities[label]) for label in LABELS], dtype=np.float64)
    except (KeyError, TypeError, ValueError):
        return None
    if not np.all(np.isfinite(vector)) or np.any(vector < 0) or vector.sum() <= 0:
        return None
    return vector / vector.sum()


def model_probabilities_of(*, faces: object, probabilities: object) -> Mapping[str, float] | None:
    """What the model itself said about a detection's main face, before any calibration.

    The main face's own probabilities (faces[0]) are always the model's; the
    detection's `probabilities` may be calibrated for its user.
    """
    main = faces[0] if isinstance(faces, list) and faces else None
    if isinstance(main, Mapping) and isinstance(main.get("probabilities"), Mapping):
        return main["probabilities"]
    return probabilities if isinstance(probabilities, Mapping) else None


@dataclass(frozen=True)
class UserCalibration:
    confusion: np.ndarray | None  # None: not enough corrections, the model's reading stands
    corrections: int
    readings: int

    @property
    def active(self) -> bool:
        return self.confusion is not None


def calibration_for(*, user: User, min_corrections: int = MIN_CORRECTIONS) -> UserCalibration:
    """This user's calibration, learnt from their own finished detections only."""
    from detection.models import Detection, DetectionStatus

    rows = (
        Detection.objects.filter(user=user, status=DetectionStatus.DONE)
        .exclude(emotion="")
        .order_by("-created", "-id")
        .values_list("faces", "probabilities", "emotion", "corrected_emotion")[:LEARN_FROM_LAST]
    )
    readings: list[tuple[np.ndarray, int]] = []
    corrections = 0
    for faces, probabilities, emotion, corrected in rows:
        accepted = corrected or emotion
        if accepted not in LABELS:
            continue
        raw = model_probabilities_of(faces=faces, probabilities=probabilities)
        vector = as_vector(raw) if raw is not None else None
        if vector is None:
            continue
        readings.append((vector, LABELS.index(accepted)))
        if corrected and corrected != emotion:
            corrections += 1
    if corrections < min_corrections:
        return UserCalibration(confusion=None, corrections=corrections, readings=len(readings))
    return UserCalibration(confusion=confusion_estimate(readings), corrections=corrections, readings=len(readings))


def calibrated_probabilities_for(*, user: User, probabilities: dict[str, float]) -> dict[str, float]:
    """The main face's probabilities as this user's corrections suggest reading them.

    Returns the very same mapping when the user has too few corrections, so a
    user who never corrected anything sees exactly what the model said.
    """
    calibration = calibration_for(user=user)
    vector = as_vector(probabilities)
    if not calibration.active or vector is None:
        return probabilities
    calibrated = probabilities_calibrate(vector, calibration.confusion)
    return {label: float(value) for label, value in zip(LABELS, calibrated, strict=True)}
