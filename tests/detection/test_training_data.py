"""export_training_data: only opted-in users' corrected photos, in FER-2013's layout."""

from io import StringIO

import cv2
from django.core.management import call_command

from detection import processing
from detection.models import Detection
from ml.runtime.labels import LABELS
from tests.factories import DetectionFactory, UserFactory, probabilities


def finished(user, *, corrected: str = "", **fields) -> Detection:
    """A neutral reading of a 200x160 photo, its face at (40, 30), 80x90."""
    return DetectionFactory(
        finished=True,
        user=user,
        size=(200, 160),
        shares=probabilities(neutral=1.0),
        box=[40, 30, 80, 90],
        corrected_emotion=corrected,
        **fields,
    )


def export(tmp_path) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("export_training_data", "--out", str(tmp_path / "data"), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_only_opted_in_users_corrected_photos_are_written(tmp_path, db):
    sharing = UserFactory(share_photos_for_training=True)
    private = UserFactory()  # the default is not to share
    shared = finished(sharing, corrected="sad")
    finished(sharing)  # not corrected: no trusted label
    finished(private, corrected="sad")
    gone = finished(sharing, corrected="happy")
    processing.detection_photo_delete(detection=gone)

    summary, errors = export(tmp_path)

    train = tmp_path / "data" / "train"
    assert sorted(p.name for p in train.iterdir()) == sorted(LABELS)
    written = sorted(str(p.relative_to(train)) for p in train.rglob("*.png"))
    assert written == [f"sad/user{sharing.pk}_det{shared.pk}.png"]
    crop = cv2.imread(str(train / written[0]), cv2.IMREAD_UNCHANGED)
    assert crop.shape == (48, 48)  # grayscale, FER-2013's size
    assert summary.startswith("Wrote 1 face crops from 1 opted-in users") and "sad 1" in summary
    assert errors == ""


def test_a_detection_without_a_face_box_is_skipped_and_named(tmp_path, db):
    sharing = UserFactory(share_photos_for_training=True)
    broken = finished(sharing, corrected="fear", faces=[{"box": "nonsense"}])

    summary, errors = export(tmp_path)

    assert summary.startswith("Wrote 0 face crops from 0 opted-in users")
    assert f"detection {broken.pk}: no face box stored" in errors
    assert not list((tmp_path / "data").rglob("*.png"))


def test_nothing_to_export_still_writes_the_layout(tmp_path, db):
    summary, _ = export(tmp_path)
    assert summary.startswith("Wrote 0 face crops")
    assert all((tmp_path / "data" / "train" / label).is_dir() for label in LABELS)
