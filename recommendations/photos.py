"""A selfie's stored photo as an HTTP answer, for the result page and the API alike."""

import logging

from django.http import FileResponse, Http404

from detection import services as detection_services
from detection.models import Detection
from emomusic_site.errors import Unavailable

logger = logging.getLogger(__name__)


def detection_photo_response(*, detection: Detection) -> FileResponse:
    """The photo, never cached by a shared proxy.

    A photo missing from the storage is a 404; the storage failing (unreachable or refusing,
    emomusic_site/storage.py) is a 503: the photo is still kept.
    """
    if not detection.image:
        raise Http404("This photo has been deleted.")
    try:
        stored = detection.image.open("rb")
    except FileNotFoundError:
        raise Http404("This photo has been deleted.") from None
    except OSError as exc:
        logger.error("Could not read the photo of detection %s: %s", detection.pk, exc)
        raise Unavailable(detection_services.PHOTO_UNREADABLE_MESSAGE) from exc
    response = FileResponse(stored, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = f'inline; filename="detection-{detection.pk}.jpg"'
    return response
