"""Celery tasks for detections: thin wrappers that own retries and the final failure state."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError

from detection import processing, worker_models

logger = logging.getLogger(__name__)

# Errors that a later attempt may not meet: the database busy or restarting,
# the storage briefly unreachable.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
MAX_RETRIES = 3

TOO_SLOW_MESSAGE = "Analysing this photo took too long. Please try again, ideally with a smaller photo."
FAILED_MESSAGE = "Something went wrong on our side while analysing this photo. Please try again in a minute."


def retry_countdown(retries: int) -> int:
    """Seconds before the next attempt: 5, 10, 20 (all well inside processing.STUCK_AFTER)."""
    return 5 * 2**retries


# ignore_result: the state lives on the Detection row. It also keeps the
# publish from touching the result backend, whose own errors when Redis is
# down are not the broker's OperationalError the upload turns into a 503.
@shared_task(bind=True, name="detection.process", max_retries=MAX_RETRIES, ignore_result=True)
def process_detection(self, detection_id: int) -> str:
    try:
        detection = processing.detection_start(detection_id=detection_id, max_attempts=MAX_RETRIES + 1)
        if detection is None:
            return "skipped"
        detection = processing.detection_analyse(
            detection=detection, classifier=worker_models.classifier(), face_finder=worker_models.face_finder()
        )
        return detection.status
    except SoftTimeLimitExceeded:
        logger.warning("Detection %s hit the soft time limit", detection_id)
        processing.detection_fail(detection_id=detection_id, error=TOO_SLOW_MESSAGE)
        return "failed"
    except TRANSIENT_ERRORS as exc:
        if self.request.retries < self.max_retries:
            logger.warning("Detection %s: transient error, retrying: %r", detection_id, exc)
            raise self.retry(exc=exc, countdown=retry_countdown(self.request.retries)) from exc
        logger.exception("Detection %s: giving up after %d retries", detection_id, self.request.retries)
        processing.detection_fail(detection_id=detection_id, error=FAILED_MESSAGE)
        return "failed"
    except Exception:
        if processing.detection_fail(detection_id=detection_id, error=FAILED_MESSAGE) is None:
            # Its owner deleted it (and its photo) while it was being analysed.
            logger.info("Detection %s was deleted during its analysis", detection_id)
            return "skipped"
        logger.exception("Detection %s failed", detection_id)
        return "failed"


@shared_task(name="detection.sweep", ignore_result=True)
def sweep() -> dict[str, int]:
    """Every minute (Celery beat): fail stuck detections, delete photos past their retention."""
    failed_stuck = processing.detections_fail_stuck()
    expiry = processing.photos_expire()
    return {"failed_stuck": failed_stuck, "photos_deleted": expiry.deleted, "photos_not_deleted": expiry.failed}
