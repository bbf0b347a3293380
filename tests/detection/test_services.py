"""detection.services: upload validation, storage and queueing; retention and the stuck sweep."""

import io
import threading
from datetime import timedelta
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from PIL import Image

from accounts.models import PhotoRetention
from detection import processing, services
from detection.models import Detection, DetectionStatus, Outcome
from detection.tasks import process_detection
from tests.detection.images import image_bytes, noisy_jpeg, png_header_only, upload
from tests.factories import DetectionFactory, UserFactory

pytestmark = pytest.mark.django_db


def refused(user, content: bytes, name: str = "photo.jpg") -> str:
    with pytest.raises(ValidationError) as error:
        services.detection_create(user=user, upload=upload(content, name))
    assert not Detection.objects.exists()
    messages = error.value.message_dict["image"]
    assert len(messages) == 1
    return messages[0]


def stored_image(detection: Detection) -> Image.Image:
    with detection.image.open("rb") as stored:
        image = Image.open(io.BytesIO(stored.read()))
        image.load()
    return image


# --- Refusals: each one a sentence, nothing stored ------------------------------


def test_no_file(user, settings):
    with pytest.raises(ValidationError) as error:
        services.detection_create(user=user, upload=None)
    assert error.value.message_dict["image"] == ["Choose a photo to upload."]
    assert not Detection.objects.exists()


def test_empty_file(user, media_files):
    assert refused(user, b"") == "This file is empty. Please choose a photo."
    assert media_files() == []


def test_text_renamed_jpg(user, media_files):
    message = refused(user, b"Dear diary, today I felt happy.\n" * 20, "diary.jpg")
    assert message == "This file is not a photo we can read. Please upload a JPEG, PNG, WebP or HEIC image."
    assert media_files() == []


def test_html_renamed_png(user):
    html = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
    assert "not a photo we can read" in refused(user, html, "page.png")


def test_svg(user):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><circle r="40"/></svg>'
    assert "not a photo we can read" in refused(user, svg, "face.svg")


def test_truncated_jpeg(user, media_files):
    whole = noisy_jpeg()
    message = refused(user, whole[: len(whole) // 2])
    assert message == "This image file is damaged or incomplete. Please upload it again or choose another photo."
    assert media_files() == []


def test_decompression_bomb_is_refused_from_its_header(user):
    bomb = png_header_only(20_000, 20_000)
    assert len(bomb) < 200
    assert "far too many pixels" in refused(user, bomb, "bomb.png")


def test_more_than_40_megapixels(user):
    # 48 MP: under Pillow's own bomb threshold, over ours; refused from the header.
    message = refused(user, png_header_only(8000, 6000), "big.png")
    assert message == (
        "This photo is 8000x6000 pixels (48 megapixels); the limit is 40 megapixels. Please upload a smaller photo."
    )


def test_file_over_10_mb(user, media_files):
    content = image_bytes() + b"\0" * (12 * 1024 * 1024)
    message = refused(user, content)
    assert message == "This file is 12.0 MB, larger than the 10 MB limit. Please choose a smaller photo."
    assert media_files() == []


def test_one_pixel_image(user):
    message = refused(user, image_bytes("PNG", size=(1, 1)), "dot.png")
    assert message == (
        "This image is only 1x1 pixels, too small to read a face in: please upload a photo at least 32 pixels on "
        "each side."
    )


def test_animated_gif_is_refused_with_the_formats_we_take(user):
    frames = [Image.new("RGB", (120, 120), color) for color in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    message = refused(user, buffer.getvalue(), "party.gif")
    assert message == "GIF files are not accepted. Please upload a JPEG, PNG, WebP or HEIC photo."


def test_bmp_is_refused(user):
    assert refused(user, image_bytes("BMP"), "photo.bmp").startswith("BMP files are not accepted.")


# --- Accepted: stored upright, RGB, as a JPEG under a random name ---------------


def test_jpeg_is_stored_under_a_random_name(user, settings, media_files):
    detection = services.detection_create(user=user, upload=upload(image_bytes(), "my holiday.jpg"))
    detection.refresh_from_db()
    assert detection.status == DetectionStatus.QUEUED
    assert detection.user == user
    assert (detection.image_width, detection.image_height) == (240, 180)
    name = detection.image.name
    assert name.startswith(f"photos/{user.pk}/") and name.endswith(".jpg")
    assert "holiday" not in name and len(Path(name).stem) == 32
    assert media_files() == [Path(settings.MEDIA_ROOT) / name]
    assert stored_image(detection).format == "JPEG"


def test_webp_accepted(user):
    detection = services.detection_create(user=user, upload=upload(image_bytes("WEBP"), "selfie.webp"))
    image = stored_image(detection)
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (240, 180))


def test_cmyk_jpeg_converted_to_rgb(user):
    content = image_bytes("JPEG", mode="CMYK", color=(0, 255, 255, 0))  # pure red in CMYK
    image = stored_image(services.detection_create(user=user, upload=upload(content)))
    assert image.mode == "RGB"
    red, green, blue = image.getpixel((100, 100))
    assert red > 200 and green < 60 and blue < 60


def test_16_bit_png_scaled_not_clipped(user):
    pixels = np.full((100, 120), 32_896, dtype=np.uint16)  # mid-grey at 16 bits
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    image = stored_image(services.detection_create(user=user, upload=upload(buffer.getvalue(), "deep.png")))
    assert image.mode == "RGB"
    assert all(120 <= channel <= 136 for channel in image.getpixel((50, 50)))


def test_palette_png_converted(user):
    content = image_bytes("PNG", mode="P", color=3)
    image = stored_image(services.detection_create(user=user, upload=upload(content, "palette.png")))
    assert image.mode == "RGB" and image.size == (240, 180)


def test_transparent_png_goes_on_white(user):
    content = image_bytes("PNG", mode="RGBA", color=(0, 0, 0, 0))
    image = stored_image(services.detection_create(user=user, upload=upload(content, "cutout.png")))
    assert image.mode == "RGB"
    assert all(channel > 245 for channel in image.getpixel((10, 10)))


def test_animated_png_uses_its_first_frame(user):
    frames = [Image.new("RGB", (100, 80), color) for color in ((0, 200, 0), (0, 0, 200))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="PNG", save_all=True, append_images=frames[1:], duration=100)
    image = stored_image(services.detection_create(user=user, upload=upload(buffer.getvalue(), "anim.png")))
    _red, green, blue = image.getpixel((50, 40))
    assert green > 150 and blue < 60


def test_exif_rotated_photo_stored_upright_without_its_exif(user):
    # A camera held sideways: 300x200 pixels on disk, orientation 6 (rotate 90 degrees clockwise to view),
    # with GPS metadata that must not be kept.
    image = Image.new("RGB", (300, 200), (255, 0, 0))
    image.paste((0, 0, 255), (0, 0, 150, 200))  # left half blue on disk -> top half once upright
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif, quality=95)

    stored = stored_image(services.detection_create(user=user, upload=upload(buffer.getvalue())))
    assert stored.size == (200, 300)
    assert stored.getpixel((100, 40))[2] > 200  # blue on top
    assert stored.getpixel((100, 260))[0] > 200  # red below
    assert not stored.getexif()


def test_large_photo_stored_scaled_down(user):
    content = image_bytes("PNG", size=(4000, 3000))
    detection = services.detection_create(user=user, upload=upload(content, "big.png"))
    assert (detection.image_width, detection.image_height) == (2048, 1536)
    assert stored_image(detection).size == (2048, 1536)


def test_large_jpeg_is_scaled_while_decoding(user):
    # The JPEG decoder halves it (2000x1500): within the stored size, no resampling needed.
    detection = services.detection_create(user=user, upload=upload(image_bytes("JPEG", size=(4000, 3000))))
    assert (detection.image_width, detection.image_height) == (2000, 1500)
    assert stored_image(detection).size == (2000, 1500)


def test_large_rotated_jpeg_is_upright_and_scaled(user):
    exif = Image.Exif()
    exif[0x0112] = 8  # rotate 90 degrees counter-clockwise to view
    buffer = io.BytesIO()
    Image.new("RGB", (6000, 4000), (10, 200, 10)).save(buffer, format="JPEG", exif=exif)
    detection = services.detection_create(user=user, upload=upload(buffer.getvalue()))
    width, height = stored_image(detection).size
    assert height > width and 1365 <= height <= 2048
    assert (detection.image_width, detection.image_height) == (width, height)


# --- Queueing ---------------------------------------------------------------------


def test_the_task_is_queued_after_the_commit(user, django_capture_on_commit_callbacks):
    with mock.patch.object(process_detection, "apply_async") as publish:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            detection = services.detection_create(user=user, upload=upload(image_bytes()))
        publish.assert_not_called()
        for callback in callbacks:
            callback()
    publish.assert_called_once_with(args=[detection.pk])
    assert Detection.objects.get().status == DetectionStatus.QUEUED


def test_a_failed_publish_keeps_nothing(user, media_files, django_capture_on_commit_callbacks):
    with (
        mock.patch.object(process_detection, "apply_async", side_effect=KombuOperationalError("no broker")),
        pytest.raises(services.QueueUnavailable, match="Nothing was saved"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.detection_create(user=user, upload=upload(image_bytes()))
    assert not Detection.objects.exists()
    assert media_files() == []


# --- Deletion, retention, the stuck sweep ----------------------------------------


def make_stored(user, **fields) -> Detection:
    detection = services.detection_create(user=user, upload=upload(image_bytes()))
    Detection.objects.filter(pk=detection.pk).update(**fields)
    detection.refresh_from_db()
    return detection


def test_detection_delete_removes_the_photo(user, media_files):
    detection = make_stored(user)
    assert media_files()
    services.detection_delete(detection=detection)
    assert not Detection.objects.exists()
    assert media_files() == []


def test_photos_delete_for_a_user_keeps_the_results(user, other_user, settings, media_files):
    mine = make_stored(user, status=DetectionStatus.DONE)
    theirs = make_stored(other_user)
    assert services.photos_delete_for(user=user) == 1
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert not mine.image and mine.photo_deleted is not None
    assert theirs.image
    assert media_files() == [Path(settings.MEDIA_ROOT) / theirs.image.name]


def test_photos_expire_by_retention(user, other_user, media_files):
    now = timezone.now()
    day_old = now - timedelta(hours=25)
    user.photo_retention = PhotoRetention.KEEP_24_HOURS
    user.save()
    other_user.photo_retention = PhotoRetention.KEEP
    other_user.save()
    expired = make_stored(user, status=DetectionStatus.DONE, created=day_old)
    fresh = make_stored(user, status=DetectionStatus.DONE, created=now - timedelta(hours=23))
    kept = make_stored(other_user, status=DetectionStatus.DONE, created=now - timedelta(days=30))

    assert processing.photos_expire(now=now) == processing.PhotoExpiry(deleted=1, failed=0)

    for detection in (expired, fresh, kept):
        detection.refresh_from_db()
    assert not expired.image and expired.photo_deleted is not None
    assert expired.status == DetectionStatus.DONE  # the result stays
    assert fresh.image and kept.image
    assert len(media_files()) == 2


def test_photos_expire_catches_delete_after_analysis_leftovers(user, settings):
    user.photo_retention = PhotoRetention.DELETE_AFTER_ANALYSIS
    user.save()
    finished = make_stored(user, status=DetectionStatus.NO_FACE)
    pending = make_stored(user, status=DetectionStatus.QUEUED)
    assert processing.photos_expire() == processing.PhotoExpiry(deleted=1, failed=0)
    finished.refresh_from_db()
    pending.refresh_from_db()
    assert not finished.image and pending.image


def test_stuck_detections_fail_with_a_message(user):
    now = timezone.now()
    old = now - timedelta(minutes=6)
    stuck_queued = DetectionFactory(user=user, status=DetectionStatus.QUEUED)
    stuck_processing = DetectionFactory(user=user, status=DetectionStatus.PROCESSING)
    recent = DetectionFactory(user=user, status=DetectionStatus.PROCESSING)
    done = DetectionFactory(user=user, status=DetectionStatus.DONE)
    Detection.objects.filter(pk__in=[stuck_queued.pk, stuck_processing.pk, done.pk]).update(created=old)

    assert processing.detections_fail_stuck(now=now) == 2

    for detection in (stuck_queued, stuck_processing, recent, done):
        detection.refresh_from_db()
    for detection in (stuck_queued, stuck_processing):
        assert detection.status == DetectionStatus.FAILED
        assert detection.error == processing.STUCK_MESSAGE
        assert detection.finished is not None
    assert recent.status == DetectionStatus.PROCESSING
    assert done.status == DetectionStatus.DONE and done.error == ""


def test_a_detection_failed_by_the_sweep_is_not_restarted(user):
    detection = DetectionFactory(user=user, status=DetectionStatus.FAILED, error="stopped")
    assert processing.detection_start(detection_id=detection.pk, max_attempts=4) is None
    detection.refresh_from_db()
    assert detection.status == DetectionStatus.FAILED and detection.attempts == 0


def test_a_detection_out_of_attempts_fails(user):
    detection = DetectionFactory(user=user, status=DetectionStatus.PROCESSING, attempts=4)
    assert processing.detection_start(detection_id=detection.pk, max_attempts=4) is None
    detection.refresh_from_db()
    assert detection.status == DetectionStatus.FAILED
    assert detection.error == processing.TOO_MANY_ATTEMPTS_MESSAGE


def _at_once(*calls) -> list:
    """Run the calls in threads released together; what each returned, or the exception it raised."""
    start = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index: int) -> None:
        try:
            start.wait()
            results[index] = calls[index]()
        except Exception as error:  # the test reports it
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_outcomes_of_one_detection_leave_one_row():
    user = UserFactory()
    for _ in range(5):  # a race: several rounds, so that one of them interleaves
        detection = DetectionFactory(user=user, status=DetectionStatus.DONE)
        results = _at_once(
            lambda detection=detection: services.outcome_record(detection=detection, mood_before=2, mood_after=4),
            lambda detection=detection: services.outcome_record(detection=detection, mood_before=1, mood_after=5),
        )
        assert not [result for result in results if isinstance(result, Exception)]
        assert sorted(created for _outcome, created in results) == [False, True]
        outcome = Outcome.objects.get(detection=detection)
        assert (outcome.mood_before, outcome.mood_after) in {(2, 4), (1, 5)}
        assert outcome.strategy == user.strategy


@pytest.mark.django_db(transaction=True)
def test_an_outcome_for_a_detection_deleted_meanwhile_is_not_found():
    detection = DetectionFactory(user=UserFactory(), status=DetectionStatus.DONE)
    Detection.objects.filter(pk=detection.pk).delete()  # by its owner, after the view read it

    with pytest.raises(Http404):
        services.outcome_record(detection=detection, mood_before=2, mood_after=4)

    assert not Outcome.objects.exists()
