"""The web process's writes for detections: upload, correction, main face, outcome, deletion.

What the worker runs (analysis, failure, the sweep) is `detection.processing`.

Queueing when Redis is down: the upload is refused with 503 and nothing is
kept. The detection row and its photo are written in one transaction and the
task is published right after the commit; if the publish fails, the row and
the photo are deleted again and `QueueUnavailable` (a domain `Unavailable`) is
raised, which the API answers with 503 and the upload form shows as an error.
A queued detection therefore always has a message on the queue; one that still
never finishes is failed by the sweep (a Celery beat task) or, when no worker
runs it, by its owner's next look at it (`detection_fail_if_stuck`).
"""

import logging
import os
from collections.abc import Sequence
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from accounts.models import User
from detection.calibration import calibrated_probabilities_for
from detection.images import photo_normalise
from detection.models import PENDING_STATUSES, Detection, DetectionFrame, DetectionStatus, Outcome, photo_folder
from detection.processing import STUCK_AFTER, detection_photo_delete, detections_fail_stuck
from detection.tasks import process_detection
from emomusic_site.errors import Conflict, Unavailable
from ml.runtime.labels import LABELS

logger = logging.getLogger(__name__)


QUEUE_DOWN_MESSAGE = "We can't analyse photos right now. Nothing was saved; please try again in a minute."
STORAGE_DOWN_MESSAGE = "We can't store photos right now, so your photo was not saved. Please try again later."
PHOTO_UNREADABLE_MESSAGE = "We can't load photos right now. Please try again later."
DETECTION_NOT_DELETED_MESSAGE = (
    "We can't delete photos right now, so nothing was deleted: the result and its photo are still here. "
    "Please try again later."
)
ACCOUNT_NOT_DELETED_MESSAGE = (
    "We can't delete photos right now, so your account was not deleted{already}. Please try again later."
)


class QueueUnavailable(Unavailable):
    """The task queue (Redis) could not take the job; nothing was stored."""


class StorageUnavailable(Unavailable):
    """The photo storage failed (unreachable, or refusing); answered 503, as the queue being down is.

    Raised by an upload (nothing was stored) and by the deletes below (nothing
    more was deleted); the message is the sentence to show.
    """


# --- Upload -----------------------------------------------------------------


MAX_FRAMES = 8


def detection_create(*, user: User, upload: IO[bytes] | None, frames: Sequence[IO[bytes]] = ()) -> Detection:
    """Validate the photo (and a burst's further frames), store it under a random name and queue its analysis.

    `frames` are a webcam burst's frames after the first (`upload`); the worker averages the main face's
    reading over the frames that show it. Raises ValidationError for an unusable photo or frame (naming the
    frame) and QueueUnavailable or StorageUnavailable when it cannot be queued or stored; in every case
    nothing is stored.
    """
    if 1 + len(frames) > MAX_FRAMES:
        raise ValidationError(
            {"image": [f"Send at most {MAX_FRAMES} frames in one burst; this one has {1 + len(frames)}."]},
            code="too_many_frames",
        )
    photos = [_frame_normalise(upload, number=1, burst=bool(frames))]
    photos += [_frame_normalise(frame, number=number, burst=True) for number, frame in enumerate(frames, start=2)]
    with transaction.atomic():
        detection = Detection(user=user, image_width=photos[0].width, image_height=photos[0].height)
        stored: list[Any] = []
        try:
            detection.image.save("photo.jpg", ContentFile(photos[0].jpeg), save=False)
            stored.append(detection.image)
            # The database enforces the check constraints on save; validating them here too would cost a
            # query each on every upload.
            detection.full_clean(validate_constraints=False)
            detection.save()
            for index, photo in enumerate(photos[1:], start=1):
                frame = DetectionFrame(detection=detection, index=index)
                frame.image.save("frame.jpg", ContentFile(photo.jpeg), save=False)
                stored.append(frame.image)
                frame.save()
        except OSError as exc:  # a full or unwritable disk, a storage service refusing the write
            logger.error("Could not store a photo: %s", exc)
            _discard(stored)
            raise StorageUnavailable(STORAGE_DOWN_MESSAGE) from exc
        except Exception:
            _discard(stored)
            raise
        transaction.on_commit(lambda: _queue_or_discard(detection))
    return detection


def _frame_normalise(upload: IO[bytes] | None, *, number: int, burst: bool):
    """One frame checked as a photo is; in a burst, the refusal names the frame."""
    try:
        return photo_normalise(upload, size=getattr(upload, "size", None))
    except ValidationError as error:
        if not burst:
            raise
        sentences = [f"Frame {number}: {message}" for message in error.message_dict.get("image", error.messages)]
        raise ValidationError({"image": sentences}, code="bad_frame") from error


def _discard(files: Sequence[Any]) -> None:
    for stored in files:
        try:
            stored.delete(save=False)
        except OSError as exc:
            logger.error("Could not delete a photo stored before a failed upload: %s", exc)


def _queue_or_discard(detection: Detection) -> None:
    try:
        process_detection.apply_async(args=[detection.pk])
    except (KombuOperationalError, RedisError, OSError) as exc:
        logger.warning("Could not queue detection %s, discarding it: %s", detection.pk, exc)
        _discard([detection.image, *(frame.image for frame in detection.frames.all())])
        detection.delete()
        raise QueueUnavailable(QUEUE_DOWN_MESSAGE) from exc


# --- Polling -------------------------------------------------------------------


def detection_fail_if_stuck(*, detection: Detection) -> Detection:
    """The detection as its owner is to see it: failed with the stuck message once it has waited past STUCK_AFTER.

    The sweep that fails stuck detections is a Celery task, and with every worker down nothing runs it: a
    photo would then show "analysing" forever. The API's GET of a detection and the result page call this,
    so their poll ends the wait itself.
    """
    if detection.status not in PENDING_STATUSES or detection.created >= timezone.now() - STUCK_AFTER:
        return detection
    detections_fail_stuck(detection_id=detection.pk)
    # Read again whichever way it ended: failed here, finished by a worker meanwhile, or deleted (then as it was).
    return Detection.objects.select_related("user").filter(pk=detection.pk).first() or detection


# --- Correction ----------------------------------------------------------------


class DetectionNotFinished(Conflict):
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
    Raises Http404 when the detection was deleted after the caller read it.
    """
    if detection.status != DetectionStatus.DONE:
        raise DetectionNotFinished("You can tell us how the songs worked once the analysis is finished.")
    with transaction.atomic():
        # The detection's row, locked: two answers at once (a double click) take turns, and the second
        # replaces the first instead of both inserting and one failing on the one-outcome constraint.
        if not Detection.objects.select_for_update().filter(pk=detection.pk).exists():
            raise Http404("No such detection.")
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


def detection_delete(*, detection: Detection) -> None:
    """Delete a detection and its photo (every frame of a burst); the photos first, so that a failure leaves all."""
    try:
        detection_photo_delete(detection=detection)
    except OSError as exc:  # the storage unreachable or refusing (emomusic_site/storage.py)
        logger.error("Could not delete the photo of detection %s: %s", detection.pk, exc)
        raise StorageUnavailable(DETECTION_NOT_DELETED_MESSAGE) from exc
    detection.delete()


def photos_delete_for(*, user: User) -> int:
    """Delete every stored photo of a user (before the account itself is deleted), then the user's whole folder.

    Raises StorageUnavailable at the first photo the storage cannot delete; the
    photos deleted before it are recorded as deleted, as the message says. The
    folder goes last with whatever no row points to (a file an earlier failure
    left); a storage that cannot clear it is logged and does not keep the account.
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
    _folder_delete(photo_folder(user.pk))
    return deleted


def _folder_delete(folder: str) -> None:
    storage = Detection._meta.get_field("image").storage
    try:
        _subfolders, names = storage.listdir(folder)
        for name in names:
            storage.delete(f"{folder}/{name}")
        # A filesystem keeps the empty folder; an object store has none to remove.
        os.rmdir(storage.path(folder))
    except (FileNotFoundError, NotImplementedError):
        pass  # no folder: the user never stored a photo, or the storage has no folders
    except OSError as exc:  # ConnectionError included: an object store unreachable
        logger.error("Could not delete the photo folder %s: %s", folder, exc)
