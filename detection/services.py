"""Writes and workflows for detections: upload, analysis, failure, retention.

Queueing when Redis is down: the upload is refused with 503 and nothing is
kept. The detection row and its photo are written in one transaction and the
task is published right after the commit; if the publish fails, the row and
the photo are deleted again and `QueueUnavailable` is raised, which the API
answers with 503 and the upload form shows as an error. A queued detection
therefore always has a message on the queue (and the sweep below fails any
that still never finish).
"""

import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import IO, Any, Protocol

import numpy as np
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from accounts.models import PhotoRetention
from detection.calibration import calibrated_probabilities_for
from detection.images import photo_normalise
from detection.models import PENDING_STATUSES, Detection, DetectionStatus, Outcome
from ml.labels import LABELS

logger = logging.getLogger(__name__)

# Longer than the task's hard time limit plus its retries' back-off, so that a
# detection a worker is still allowed to finish is never failed under it.
STUCK_AFTER = timedelta(minutes=5)
PHOTO_KEPT_FOR = timedelta(hours=24)

NO_FACE_MESSAGE = "We couldn't find a face. Try a well-lit, front-facing photo."
STUCK_MESSAGE = "Analysing this photo took too long and was stopped. Please try again in a minute."
QUEUE_DOWN_MESSAGE = "We can't analyse photos right now. Nothing was saved; please try again in a minute."
STORAGE_DOWN_MESSAGE = "We can't store photos right now, so your photo was not saved. Please try again later."
TOO_MANY_ATTEMPTS_MESSAGE = "We tried several times but could not analyse this photo. Please try another photo."
PHOTO_GONE_MESSAGE = "The photo was deleted before it could be analysed. Please upload it again."
PHOTO_UNREADABLE_MESSAGE = "We can't load photos right now. Please try again later."
DETECTION_NOT_DELETED_MESSAGE = (
    "We can't delete photos right now, so nothing was deleted: the result and its photo are still here. "
    "Please try again later."
)
ACCOUNT_NOT_DELETED_MESSAGE = (
    "We can't delete photos right now, so your account was not deleted{already}. Please try again later."
)


class QueueUnavailable(Exception):
    """The task queue (Redis) could not take the job; nothing was stored."""


class StorageUnavailable(QueueUnavailable):
    """The photo storage failed (unreachable, or refusing); answered 503 like the queue being down.

    Raised by an upload (nothing was stored) and by the deletes below (nothing
    more was deleted); the message is the sentence to show.
    """


class Classifier(Protocol):
    version: str

    def predict(self, faces: np.ndarray) -> np.ndarray: ...


class FaceFinder(Protocol):
    """ml.faces: `detect` returns faces (with `.box`, `.score`, `.fallback`) largest first.

    It decides itself whether a photo in which no face is detected is read
    whole as a face crop (a small, nearly square photo that looks like one).
    """

    def detect(self, rgb: np.ndarray) -> list: ...

    def crop(self, rgb: np.ndarray, box: Any) -> np.ndarray: ...


# --- Upload -----------------------------------------------------------------


def detection_create(*, user, upload: IO[bytes] | None) -> Detection:
    """Validate the photo, store it under a random name and queue its analysis.

    Raises ValidationError for an unusable photo and QueueUnavailable when the
    queue cannot take the job; in both cases nothing is stored.
    """
    photo = photo_normalise(upload, size=getattr(upload, "size", None))
    with transaction.atomic():
        detection = Detection(user=user, image_width=photo.width, image_height=photo.height)
        try:
            detection.image.save("photo.jpg", ContentFile(photo.jpeg), save=False)
        except OSError as exc:  # a full or unwritable disk, a storage service refusing the write
            logger.error("Could not store a photo: %s", exc)
            raise StorageUnavailable(STORAGE_DOWN_MESSAGE) from exc
        try:
            detection.full_clean()
            detection.save()
        except Exception:
            detection.image.delete(save=False)
            raise
        transaction.on_commit(lambda: _queue_or_discard(detection))
    return detection


def _queue_or_discard(detection: Detection) -> None:
    # Imported here: the tasks module imports this one.
    from detection.tasks import process_detection

    try:
        process_detection.apply_async(args=[detection.pk])
    except (KombuOperationalError, RedisError, OSError) as exc:
        logger.warning("Could not queue detection %s, discarding it: %s", detection.pk, exc)
        detection.image.delete(save=False)
        detection.delete()
        raise QueueUnavailable(QUEUE_DOWN_MESSAGE) from exc


# --- Analysis (runs in the worker) ------------------------------------------


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


def detection_analyse(*, detection: Detection, classifier: Classifier, face_finder: FaceFinder) -> Detection:
    """Find the faces in the detection's photo, classify each, store the result.

    The main face is the largest one (the face finder returns them largest
    first). Errors from reading the photo or running the model propagate:
    the task decides between a retry and `failed`.
    """
    if not detection.image or not detection.image.storage.exists(detection.image.name):
        return detection_fail(detection_id=detection.pk, error=PHOTO_GONE_MESSAGE) or detection

    rgb = _read_rgb(detection)
    found = face_finder.detect(rgb)
    if not found:
        return _finish(detection, status=DetectionStatus.NO_FACE, error=NO_FACE_MESSAGE)

    crops = np.stack([face_finder.crop(rgb, face) for face in found])
    rows = np.asarray(classifier.predict(crops), dtype=np.float64)
    if rows.shape != (len(found), len(LABELS)) or not np.all(np.isfinite(rows)):
        raise ValueError(f"the classifier returned an array of shape {rows.shape} for {len(found)} faces")

    faces = []
    for face, row in zip(found, rows, strict=True):
        probabilities = _as_probabilities(row)
        faces.append(
            {
                "box": [int(value) for value in _box_of(face)],
                "emotion": max(probabilities, key=probabilities.__getitem__),
                "probabilities": probabilities,
                "score": round(float(getattr(face, "score", 1.0) or 0.0), 4),
                "fallback": bool(getattr(face, "fallback", False)),
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
        model_version=str(classifier.version),
    )


def _box_of(face: Any) -> Sequence[int]:
    box = face["box"] if isinstance(face, Mapping) else face.box
    return tuple(round(float(value)) for value in box)


def _as_probabilities(row: np.ndarray) -> dict[str, float]:
    row = np.clip(row, 0.0, None)
    total = float(row.sum())
    row = row / total if total > 0 else np.full(len(LABELS), 1.0 / len(LABELS))
    return {label: float(value) for label, value in zip(LABELS, row, strict=True)}


def _read_rgb(detection: Detection) -> np.ndarray:
    from PIL import Image

    with detection.image.open("rb") as stored, Image.open(stored) as image:
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


# --- Correction ----------------------------------------------------------------


class DetectionNotFinished(Exception):
    """Only a finished analysis (status `done`) can be corrected."""


def detection_correct(*, detection: Detection, emotion: str) -> Detection:
    """Record the emotion the user says is right; the mood (computed where shown) follows it from now on.

    The model's own reading (emotion, confidence, probabilities) is kept
    beside the correction, for the user's history and for improving the model.
    """
    if emotion not in LABELS:
        raise ValidationError({"emotion": [f"Choose one of the seven emotions: {', '.join(LABELS)}."]})
    if detection.status != DetectionStatus.DONE:
        raise DetectionNotFinished(
            "Only a finished analysis can be corrected. Wait for the result, or pick a mood by hand."
        )
    detection.corrected_emotion = emotion
    detection.full_clean()
    detection.save(update_fields=["corrected_emotion"])
    return detection


def detection_main_face_set(*, detection: Detection, index: int) -> Detection:
    """Say which face of a group photo is the user's: the emotion and the songs follow that face.

    The face's own reading goes through the user's calibration, as the first
    reading did. An earlier correction was about another face, so it is dropped.
    """
    if detection.status != DetectionStatus.DONE:
        raise DetectionNotFinished("You can choose a face once the analysis is finished.")
    faces = detection.faces or []
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(faces):
        count = len(faces)
        raise ValidationError(
            {"index": [f"Choose a face from 0 to {count - 1}." if count else "This photo has no faces to choose from."]}
        )
    probabilities = calibrated_probabilities_for(user=detection.user, probabilities=faces[index]["probabilities"])
    emotion = max(probabilities, key=probabilities.__getitem__)
    detection.main_face = index
    detection.probabilities = probabilities
    detection.emotion = emotion
    detection.confidence = probabilities[emotion]
    detection.corrected_emotion = ""
    detection.full_clean()
    detection.save(update_fields=["main_face", "probabilities", "emotion", "confidence", "corrected_emotion"])
    return detection


def outcome_record(*, detection: Detection, mood_before: int, mood_after: int) -> tuple[Outcome, bool]:
    """How the user felt before and after listening (1 to 5); a second answer replaces the first.

    The strategy in force is stored with it, so the strategy statistics stay
    right when the user later switches strategy. Returns (outcome, created).
    """
    if detection.status != DetectionStatus.DONE:
        raise DetectionNotFinished("You can tell us how the songs worked once the analysis is finished.")
    outcome = Outcome.objects.filter(detection=detection).first()
    created = outcome is None
    if outcome is None:
        outcome = Outcome(detection=detection)
    outcome.strategy = detection.user.strategy
    outcome.mood_before = mood_before
    outcome.mood_after = mood_after
    outcome.full_clean()
    outcome.save()
    return outcome, created


# --- Deletion and retention ---------------------------------------------------


def detection_photo_delete(*, detection: Detection) -> None:
    """Delete the stored photo and remember when; the results stay."""
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


def detection_delete(*, detection: Detection) -> None:
    """Delete a detection and its photo; the photo first, so that a failure leaves both."""
    if detection.image:
        try:
            detection.image.delete(save=False)
        except OSError as exc:  # the storage unreachable or refusing (emomusic_site/storage.py)
            logger.error("Could not delete the photo of detection %s: %s", detection.pk, exc)
            raise StorageUnavailable(DETECTION_NOT_DELETED_MESSAGE) from exc
    detection.delete()


def photos_delete_for(*, user) -> int:
    """Delete every stored photo of a user (before the account itself is deleted).

    Raises StorageUnavailable at the first photo the storage cannot delete; the
    photos deleted before it are recorded as deleted, as the message says.
    """
    stored = list(Detection.objects.filter(user=user).exclude(image=""))
    deleted = 0
    for detection in stored:
        try:
            detection_photo_delete(detection=detection)
        except OSError as exc:
            logger.error("Could not delete the photos of user %s: %s", user.pk, exc)
            already = f" ({deleted} of your {len(stored)} photos already {'was' if deleted == 1 else 'were'})"
            raise StorageUnavailable(ACCOUNT_NOT_DELETED_MESSAGE.format(already=already if deleted else "")) from exc
        deleted += 1
    return deleted


def detections_fail_stuck(*, now=None) -> int:
    """Fail detections that have been queued or processing for longer than any worker may take."""
    now = now or timezone.now()
    stuck = Detection.objects.filter(status__in=PENDING_STATUSES, created__lt=now - STUCK_AFTER)
    failed = 0
    for detection_id in stuck.values_list("pk", flat=True):
        detection = detection_fail(detection_id=detection_id, error=STUCK_MESSAGE)
        if detection is not None and detection.error == STUCK_MESSAGE:
            failed += 1
    if failed:
        logger.warning("Failed %d detections stuck for more than %s", failed, STUCK_AFTER)
    return failed


def photos_expire(*, now=None) -> int:
    """Delete the photos the owners' retention choice no longer allows us to keep.

    "24h" photos go a day after upload; "delete" photos normally go when the
    analysis ends, and any left over (a worker that died at the wrong moment)
    go here once their detection is finished.
    """
    now = now or timezone.now()
    finished = ~Q(status__in=PENDING_STATUSES)
    expired = Detection.objects.exclude(image="").filter(
        Q(user__photo_retention=PhotoRetention.KEEP_24_HOURS, created__lt=now - PHOTO_KEPT_FOR)
        | Q(finished, user__photo_retention=PhotoRetention.DELETE_AFTER_ANALYSIS)
    )
    count = 0
    for detection in expired:
        detection_photo_delete(detection=detection)
        count += 1
    return count
