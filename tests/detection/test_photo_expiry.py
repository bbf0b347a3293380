"""The retention sweep handles each photo on its own: one the storage refuses to delete stops no other."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import PhotoRetention
from detection import processing, services
from detection.models import Detection, DetectionStatus
from emomusic_site.storage import PhotoFileSystemStorage
from tests.detection.images import image_bytes, upload
from tests.factories import UserFactory


class OneFolderReadOnlyStorage(PhotoFileSystemStorage):
    """The site's filesystem storage, but the folder `read_only` refuses every delete, as a read-only folder does."""

    def __init__(self, *, read_only: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.read_only = read_only

    def delete(self, name: str) -> None:
        if name.startswith(self.read_only + "/"):
            raise PermissionError(13, "Permission denied", name)
        super().delete(name)


@pytest.fixture
def expired_photos(db, settings):
    """Three users' photos, a day and more old, kept for 24 hours; the second user's folder read-only."""
    users = [UserFactory(photo_retention=PhotoRetention.KEEP_24_HOURS) for _ in range(3)]
    detections = []
    for user in users:
        detection = services.detection_create(user=user, upload=upload(image_bytes()))
        Detection.objects.filter(pk=detection.pk).update(
            status=DetectionStatus.DONE, created=timezone.now() - timedelta(hours=25)
        )
        detections.append(detection)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": f"{__name__}.OneFolderReadOnlyStorage",
            "OPTIONS": {"location": settings.MEDIA_ROOT, "read_only": f"photos/{users[1].pk}"},
        },
    }
    return detections


def test_one_photo_that_cannot_be_deleted_stops_no_other(expired_photos, caplog):
    first, refused, last = expired_photos

    with caplog.at_level(logging.ERROR, logger="detection.processing"):
        expiry = processing.photos_expire()

    assert (expiry.deleted, expiry.failed) == (2, 1)
    for detection in expired_photos:
        detection.refresh_from_db()
    assert not first.image and first.photo_deleted is not None
    assert not last.image and last.photo_deleted is not None
    assert (
        refused.image and refused.photo_deleted is None
    )  # still counted as holding its photo: the next sweep tries again
    assert f"Could not delete the expired photo of detection {refused.pk}" in caplog.text


def test_the_sweep_task_reports_both_counts(expired_photos):
    from detection import tasks

    result = tasks.sweep.apply().result

    assert result["photos_deleted"] == 2
    assert result["photos_not_deleted"] == 1
