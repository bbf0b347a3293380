"""Per-user calibration: the math, what it learns from, and that it touches only its own user."""

from types import SimpleNamespace

import numpy as np
import pytest
from django.urls import reverse

from detection import calibration, processing, services
from detection.models import Detection, DetectionStatus
from ml.runtime.labels import LABELS
from tests.detection.images import image_bytes, upload
from tests.factories import DetectionFactory, face

NEUTRAL, SAD = LABELS.index("neutral"), LABELS.index("sad")


def reading(**mass: float) -> dict[str, float]:
    """Seven probabilities with the given mass, the rest spread evenly."""
    rest = (1.0 - sum(mass.values())) / (len(LABELS) - len(mass))
    return {label: mass.get(label, rest) for label in LABELS}


def corrected(user, *, said: str, meant: str, probabilities: dict[str, float]) -> Detection:
    return DetectionFactory(
        finished=True, user=user, shares=probabilities, emotion=said, corrected_emotion=meant, box=[0, 0, 10, 10]
    )


# --- The math ----------------------------------------------------------------------


def test_no_readings_leave_the_identity():
    assert np.allclose(calibration.confusion_estimate([]), np.eye(len(LABELS)))


def test_the_confusion_counts_soft_readings_on_top_of_the_prior():
    p = np.zeros(len(LABELS))
    p[NEUTRAL], p[SAD] = 0.75, 0.25
    confusion = calibration.confusion_estimate([(p, SAD), (p, SAD)], prior_strength=1.0)
    # Row neutral: prior 1 on neutral, 2 * 0.75 on sad -> 1 / 2.5 and 1.5 / 2.5.
    assert confusion[NEUTRAL, NEUTRAL] == pytest.approx(0.4)
    assert confusion[NEUTRAL, SAD] == pytest.approx(0.6)
    # Row sad: prior 1 on sad plus 2 * 0.25 on sad -> stays all sad.
    assert confusion[SAD, SAD] == pytest.approx(1.0)
    assert np.allclose(confusion.sum(axis=1), 1.0)


def test_calibrated_probabilities_sum_to_one_and_move_mass():
    p = np.zeros(len(LABELS))
    p[NEUTRAL], p[SAD] = 0.6, 0.4
    confusion = np.eye(len(LABELS))
    confusion[NEUTRAL] = 0.0
    confusion[NEUTRAL, SAD] = 1.0
    calibrated = calibration.probabilities_calibrate(p, confusion)
    assert calibrated.sum() == pytest.approx(1.0)
    assert calibrated[SAD] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "bad", [{}, {"happy": 1.0}, {**reading(happy=1.0), "sad": "x"}, {**reading(happy=1.0), "sad": -1.0}]
)
def test_malformed_probabilities_are_not_a_vector(bad):
    assert calibration.as_vector(bad) is None


# --- Learning from the user's detections ------------------------------------------------


def test_too_few_corrections_leave_the_model_alone(user):
    for _ in range(calibration.MIN_CORRECTIONS - 1):
        corrected(user, said="neutral", meant="sad", probabilities=reading(neutral=0.7, sad=0.2))
    result = calibration.calibration_for(user=user)
    assert not result.active and result.corrections == calibration.MIN_CORRECTIONS - 1
    probabilities = reading(neutral=0.6, sad=0.3)
    assert calibration.calibrated_probabilities_for(user=user, probabilities=probabilities) is probabilities


def test_a_consistent_bias_is_corrected_for_that_user_only(user, other_user):
    for _ in range(5):
        corrected(user, said="neutral", meant="sad", probabilities=reading(neutral=0.7, sad=0.2))
    corrected(other_user, said="happy", meant="happy", probabilities=reading(happy=0.9))
    new_reading = reading(neutral=0.6, sad=0.3)

    mine = calibration.calibrated_probabilities_for(user=user, probabilities=new_reading)
    theirs = calibration.calibrated_probabilities_for(user=other_user, probabilities=new_reading)

    assert max(mine, key=mine.get) == "sad"
    assert sum(mine.values()) == pytest.approx(1.0)
    assert theirs == new_reading


def test_it_learns_from_the_model_reading_not_the_calibrated_one(user):
    # The stored probabilities already say sad (calibrated); faces[0] holds what the model said.
    for _ in range(3):
        DetectionFactory(
            finished=True,
            user=user,
            shares=reading(sad=0.9),
            corrected_emotion="angry",
            faces=[face([0, 0, 1, 1], reading(neutral=0.9))],
        )
    confusion = calibration.calibration_for(user=user).confusion
    assert confusion[NEUTRAL, LABELS.index("angry")] > 0.3
    assert confusion[SAD, LABELS.index("angry")] < 0.05


def test_unfinished_and_malformed_detections_teach_nothing(user):
    DetectionFactory(failed=True, user=user)
    DetectionFactory(user=user, status=DetectionStatus.DONE, emotion="sad", corrected_emotion="happy", faces="junk")
    result = calibration.calibration_for(user=user)
    assert result.readings == 0 and not result.active


# --- In the analysis ---------------------------------------------------------------------


class OneFace:
    def detect(self, rgb, *, fallback=False):
        return [SimpleNamespace(box=(10, 10, 100, 100), score=0.9, fallback=False)]

    def crop(self, rgb, face):
        return np.zeros((48, 48), dtype=np.float32)


class FixedClassifier:
    version = "test-1"

    def __init__(self, probabilities: dict[str, float]):
        self.row = np.array([probabilities[label] for label in LABELS])

    def predict(self, faces):
        return np.tile(self.row, (len(faces), 1))


def analysed(user, probabilities: dict[str, float]) -> Detection:
    detection = services.detection_create(user=user, upload=upload(image_bytes()))
    Detection.objects.filter(pk=detection.pk).update(status=DetectionStatus.PROCESSING)
    detection.refresh_from_db()
    return processing.detection_analyse(
        detection=detection, classifier=FixedClassifier(probabilities), face_finder=OneFace()
    )


def test_analysis_calibrates_only_the_user_with_corrections(user, other_user):
    for _ in range(5):
        corrected(user, said="neutral", meant="sad", probabilities=reading(neutral=0.7, sad=0.2))
    model_says = reading(neutral=0.6, sad=0.3)

    mine = analysed(user, model_says)
    theirs = analysed(other_user, model_says)

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.status == DetectionStatus.DONE and mine.emotion == "sad"
    assert mine.confidence == pytest.approx(mine.probabilities["sad"])
    assert mine.probabilities != pytest.approx(model_says)
    assert mine.faces[0]["probabilities"] == pytest.approx(model_says)  # the model's own reading is kept
    assert theirs.emotion == "neutral"
    assert theirs.probabilities == pytest.approx(model_says)
    assert theirs.faces[0]["probabilities"] == theirs.probabilities


# --- On the result page ---------------------------------------------------------------------


def test_the_result_page_says_when_the_reading_was_adjusted(client, user):
    model_says, adjusted = reading(neutral=0.6, sad=0.3), reading(sad=0.6, neutral=0.3)
    calibrated = DetectionFactory(finished=True, user=user, shares=adjusted, faces=[face([0, 0, 10, 10], model_says)])
    plain = corrected(user, said="neutral", meant="", probabilities=model_says)
    Detection.objects.filter(pk=plain.pk).update(confidence=0.6)
    client.force_login(user)

    adjusted_page = client.get(reverse("detection_detail", args=[calibrated.pk])).content.decode()
    plain_page = client.get(reverse("detection_detail", args=[plain.pk])).content.decode()

    assert "the model alone read neutral" in adjusted_page
    assert "the model alone read" not in plain_page
