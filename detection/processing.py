"""What the worker runs for a detection: start, analyse, fail; and the sweep: stuck detections, photo retention.

`detection.tasks` calls these; the web process's writes are `detection.services`, which queues the task.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import numpy as np
from django.db import transaction
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from accounts.models import PhotoRetention
from detection.calibration import calibrated_probabilities_for
from detection.models import PENDING_STATUSES, Detection, DetectionStatus
from ml.runtime.labels import LABELS

logger = logging.getLogger(__name__)

# Longer than the task's hard time limit plus its retries' back-off, so that a
# detection a worker is still allowed to finish is never failed under it.
STUCK_AFTER = timedelta(minutes=5)
PHOTO_KEPT_FOR = timedelta(hours=24)

NO_FACE_MESSAGE = "We couldn't find a face. Try a well-lit, front-facing photo."
STUCK_MESSAGE = "Analysing this photo took too long and was stopped. Please try again in a minute."
TOO_MANY_ATTEMPTS_MESSAGE = "We tried several times but could not analyse this photo. Please try another photo."
PHOTO_GONE_MESSAGE = "The photo was deleted before it could be analysed. Please upload it again."


class Classifier(Protocol):
    version: str

    def predict(self, faces: np.ndarray) -> np.ndarray: ...


class FoundFace(Protocol):
    """A face in a photo (ml.runtime.faces.Face): `box` is (x, y, w, h) in the photo's pixels."""

    @property
    def box(self) -> Sequence[float]: ...

    @property
    def score(self) -> float: ...

    @property
    def fallback(self) -> bool: ...


class FaceFinder(Protocol):
    """ml.runtime.faces: `detect` returns the faces largest first.

    It decides itself whether a photo in which no face is detected is read
    whole as a face crop (a small, nearly square photo that looks like one).
    """

    def detect(self, rgb: np.ndarray) -> Sequence[FoundFace]: ...

    def crop(self, rgb: np.ndarray, face: FoundFace) -> np.ndarray: ...


def detection_start(*, detection_id: int, max_attempts: int) -> Detection | None:
    """Mark a pending detection as processing; None if it is gone or already finished.

    A message delivered twice (acks_late after a worker died) or one that
    arrives after the sweep gave up on it finds nothing to do. A photo that
    has already used up its attempts (say it kills the worker each time) is
    failed instead of being tried for ever.
    """
    with transaction.atomic():
        detection = Detection.objects.select_for_update().select_related("user").filter(pk=detection_id).first()
        if detection is None or detection.status not in PENDING_STATUSES:
            return None
        if detection.attempts >= max_attempts:
            give_up = True
        else:
            give_up = False
            detection.status = DetectionStatus.PROCESSING
            detection.started = timezone.now()
            detection.attempts += 1
            detection.save(update_fields=["status", "started", "attempts"])
    if give_up:
        detection_fail(detection_id=detection_id, error=TOO_MANY_ATTEMPTS_MESSAGE)
        return None
    return detection


# Two frames of a burst show the same face when their boxes, as shares of each frame's size, overlap this much
# (intersection over union). Over a second a face moves a little; another person stands elsewhere.
SAME_FACE_OVERLAP = 0.3


def detection_analyse(*, detection: Detection, classifier: Classifier, face_finder: FaceFinder) -> Detection:
    """Find the faces in the detection's photo, classify each, store the result.

    The main face is the largest one (the face finder returns them largest first). For a webcam burst, the
    main face's reading is the mean over the frames where the same face is found (`frames_read` counts
    them). Errors from reading the photo or running the model propagate: the task decides between a retry
    and `failed`.
    """
    if not detection.image:
        return detection_fail(detection_id=detection.pk, error=PHOTO_GONE_MESSAGE) or detection
    try:
        # Read rather than asked about first: in S3 asking is a request of its own.
        rgb = _read_rgb(detection.image)
    except FileNotFoundError:
        failed = detection_fail(detection_id=detection.pk, error=PHOTO_GONE_MESSAGE)
        if failed is None:
            raise  # the detection went with its photo: the task skips it
        return failed

    # Here, not at the top: the web process imports this module, and OpenCV is the worker's.
    from ml.runtime.quality import photo_hints

    found = face_finder.detect(rgb)
    if not found:
        return _finish(detection, status=DetectionStatus.NO_FACE, error=NO_FACE_MESSAGE)

    rows = _classify(classifier, [face_finder.crop(rgb, face) for face in found])
    main_readings = [rows[0], *_same_face_readings(detection, rgb.shape, found[0], classifier, face_finder)]
    rows[0] = np.mean(main_readings, axis=0)
    faces = []
    for face, row in zip(found, rows, strict=True):
        probabilities = _as_probabilities(row)
        faces.append(
            {
                "box": [round(float(value)) for value in face.box],
                "emotion": max(probabilities, key=probabilities.__getitem__),
                "probabilities": probabilities,
                "score": round(float(face.score), 4),
                "fallback": bool(face.fallback),
            }
        )
    # faces keep the model's own reading; the detection's probabilities are
    # read through this user's corrections (unchanged for most users).
    probabilities = calibrated_probabilities_for(user=detection.user, probabilities=faces[0]["probabilities"])
    emotion = max(probabilities, key=probabilities.__getitem__)
    return _finish(
        detection,
        status=DetectionStatus.DONE,
        probabilities=probabilities,
        faces=faces,
        emotion=emotion,
        confidence=probabilities[emotion],
        frames_read=len(main_readings),
        hints=photo_hints(rgb, tuple(found[0].box)),
        model_version=str(classifier.version),
    )


def _classify(classifier: Classifier, crops: list[np.ndarray]) -> np.ndarray:
    rows = np.asarray(classifier.predict(np.stack(crops)), dtype=np.float64)
    if rows.shape != (len(crops), len(LABELS)) or not np.all(np.isfinite(rows)):
        raise ValueError(f"the classifier returned an array of shape {rows.shape} for {len(crops)} faces")
    return rows


def _same_face_readings(
    detection: Detection, shape: tuple[int, ...], main: FoundFace, classifier: Classifier, face_finder: FaceFinder
) -> list[np.ndarray]:
    """The main face's reading in each further frame of a burst that shows it (frames of any size)."""
    main_box = _relative_box(main.box, shape)
    crops = []
    for frame in detection.frames.all():
        rgb = _read_rgb(frame.image)
        boxes = [(_overlap(main_box, _relative_box(face.box, rgb.shape)), face) for face in face_finder.detect(rgb)]
        overlap, face = max(boxes, key=lambda pair: pair[0], default=(0.0, None))
        if face is not None and overlap >= SAME_FACE_OVERLAP:
            crops.append(face_finder.crop(rgb, face))
    return list(_classify(classifier, crops)) if crops else []


def _relative_box(box: Sequence[float], shape: tuple[int, ...]) -> tuple[float, float, float, float]:
    height, width = shape[:2]
    x, y, w, h = (float(value) for value in box)
    return (x / width, y / height, w / width, h / height)


def _overlap(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    inter_w = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    inter_h = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    intersection = inter_w * inter_h
    union = a[2] * a[3] + b[2] * b[3] - intersection
    return intersection / union if union > 0 else 0.0


def _as_probabilities(row: np.ndarray) -> dict[str, float]:
    row = np.clip(row, 0.0, None)
    total = float(row.sum())
    row = row / total if total > 0 else np.full(len(LABELS), 1.0 / len(LABELS))
    return {label: float(value) for label, value in zip(LABELS, row, strict=True)}


def _read_rgb(photo: FieldFile) -> np.ndarray:
    from PIL import Image

    with photo.open("rb") as stored, Image.open(stored) as image:
        return np.asarray(image.convert("RGB"))


def _finish(detection: Detection, *, status: str, **fields: Any) -> Detection:
    """Write a terminal state, unless the sweep already failed this detection meanwhile."""
    with transaction.atomic():
        current = Detection.objects.select_for_update().select_related("user").filter(pk=detection.pk).first()
        if current is None or current.status != DetectionStatus.PROCESSING:
            # Deleted by its owner, or failed by the sweep, while we worked.
            return current or detection
        current.status = status
        current.finished = timezone.now()
        for name, value in fields.items():
            setattr(current, name, value)
        current.full_clean()
        current.save()
    _apply_retention_after_analysis(current)
    return current


def detection_fail(*, detection_id: int, error: str) -> Detection | None:
    """End a pending detection in `failed` with a message.

    Returns None if the detection is gone, and leaves one that has already
    finished as it is (returning it unchanged).
    """
    with transaction.atomic():
        detection = Detection.objects.select_for_update().select_related("user").filter(pk=detection_id).first()
        if detection is None or detection.status not in PENDING_STATUSES:
            return detection
        detection.status = DetectionStatus.FAILED
        detection.error = error[:300]
        detection.finished = timezone.now()
        detection.save(update_fields=["status", "error", "finished"])
    _apply_retention_after_analysis(detection)
    return detection


def _apply_retention_after_analysis(detection: Detection) -> None:
    if detection.user.photo_retention == PhotoRetention.DELETE_AFTER_ANALYSIS:
        detection_photo_delete(detection=detection)


def detection_photo_delete(*, detection: Detection) -> None:
    """Delete the stored photo and a burst's further frames, and remember when; the results stay.

    The frames go first: a failure leaves the photo, so the detection still counts as holding one, and the
    next try (the sweep, or its owner) finds what is left.
    """
    for frame in detection.frames.all():
        frame.image.delete(save=False)
        frame.delete()
    if detection.image:
        detection.image.delete(save=False)
    if detection.photo_deleted is None:
        detection.photo_deleted = timezone.now()
    Detection.objects.filter(pk=detection.pk).update(image="", photo_deleted=detection.photo_deleted)


# A delete the storage cannot carry out waits: the row stays with its photo and the user is told
# to try again (StorageUnavailable, answered 503). Deleting the row and retrying the photo later
# would answer "deleted" while the face is still stored, and, for an account, leave a photo that
# no account points to, which its owner could no longer see, export or delete. A missing file is
# no failure (FileSystemStorage ignores it, and S3 deletes a missing key without complaint), so
# FileNotFoundError here means a missing bucket, and is refused like any other OSError.


def detections_fail_stuck(*, now=None, detection_id: int | None = None) -> int:
    """Fail detections that have been queued or processing for longer than any worker may take.

    All of them (the sweep), or the one `detection_id` names (a poll of it, `detection.services`).
    """
    now = now or timezone.now()
    stuck = Detection.objects.filter(status__in=PENDING_STATUSES, created__lt=now - STUCK_AFTER)
    if detection_id is not None:
        stuck = stuck.filter(pk=detection_id)
    failed = 0
    for detection_id in stuck.values_list("pk", flat=True):
        detection = detection_fail(detection_id=detection_id, error=STUCK_MESSAGE)
        if detection is not None and detection.error == STUCK_MESSAGE:
            failed += 1
    if failed:
        logger.warning("Failed %d detections stuck for more than %s", failed, STUCK_AFTER)
    return failed


@dataclass(frozen=True)
class PhotoExpiry:
    """What one retention sweep did: photos deleted, and photos the storage refused to delete."""

    deleted: int
    failed: int


def photos_expire(*, now=None) -> PhotoExpiry:
    """Delete the photos the owners' retention choice no longer allows us to keep.

    "24h" photos go a day after upload; "delete" photos normally go when the
    analysis ends, and any left over (a worker that died at the wrong moment)
    go here once their detection is finished. Each photo is deleted on its own:
    one the storage refuses (a read-only folder, an outage) is logged, counted
    and kept for the next sweep, and the others still go.
    """
    now = now or timezone.now()
    finished = ~Q(status__in=PENDING_STATUSES)
    expired = Detection.objects.exclude(image="").filter(
        Q(user__photo_retention=PhotoRetention.KEEP_24_HOURS, created__lt=now - PHOTO_KEPT_FOR)
        | Q(finished, user__photo_retention=PhotoRetention.DELETE_AFTER_ANALYSIS)
    )
    deleted = failed = 0
    for detection in expired:
        try:
            detection_photo_delete(detection=detection)
        except OSError as exc:  # the storage refusing or unreachable (emomusic_site/storage.py)
            logger.error("Could not delete the expired photo of detection %s: %s", detection.pk, exc)
            failed += 1
        else:
            deleted += 1
    if failed:
        logger.error("The retention sweep could not delete %d of %d expired photos", failed, deleted + failed)
    return PhotoExpiry(deleted=deleted, failed=failed)
