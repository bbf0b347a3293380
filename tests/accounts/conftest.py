from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile

from detection.models import Detection, DetectionStatus
from tests.factories import DetectionFactory, RatingFactory


def add_photo(detection: Detection) -> Path:
    """Store a photo for the detection; returns where it lies on disk."""
    detection.image.save("selfie.jpg", ContentFile(b"\xff\xd8\xff\xe0 not decoded by these tests"))
    return Path(settings.MEDIA_ROOT) / detection.image.name


@pytest.fixture
def footprint():
    """Everything a user leaves behind: two detections with photos and ratings."""

    def make(user) -> dict:
        detections = [DetectionFactory(user=user, status=DetectionStatus.DONE) for _ in range(2)]
        photos = [add_photo(detection) for detection in detections]
        ratings = [RatingFactory(user=user, detection=detections[0]), RatingFactory(user=user)]
        return {"detections": detections, "photos": photos, "ratings": ratings}

    return make
