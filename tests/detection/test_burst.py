"""A webcam burst: several frames in one upload, the main face read in each; and the photo's hints."""

import io

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from detection import processing, services
from detection.models import Detection, DetectionFrame, DetectionStatus
from ml.runtime.labels import LABELS
from tests.conftest import FACES_DIR
from tests.detection.images import noisy_jpeg, upload

pytestmark = pytest.mark.django_db


def face_jpeg(*, scale: float = 1.0, brightness: float = 1.0, name: str = "happy_1.jpg") -> bytes:
    image = Image.open(FACES_DIR / name).convert("RGB")
    if scale != 1.0:
        image = image.resize((round(image.width * scale), round(image.height * scale)))
    pixels = np.clip(np.asarray(image, np.float32) * brightness, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def burst(*frames: bytes) -> list:
    return [upload(frame, f"camera-{number}.jpg") for number, frame in enumerate(frames, start=1)]


class BrightnessClassifier:
    """Reads a face as happy in proportion to its mean brightness, so that frames read differently."""

    version = "brightness-1"

    def predict(self, faces: np.ndarray) -> np.ndarray:
        happy = np.asarray([float(np.mean(face)) / 255 for face in faces])
        rows = np.tile((1 - happy)[:, None] / (len(LABELS) - 1), (1, len(LABELS)))
        rows[:, LABELS.index("happy")] = happy
        return rows


@pytest.fixture
def face_finder():
    from ml.runtime import faces

    return faces


def analyse(detection: Detection, face_finder) -> Detection:
    started = processing.detection_start(detection_id=detection.pk, max_attempts=4)
    return processing.detection_analyse(detection=started, classifier=BrightnessClassifier(), face_finder=face_finder)


# --- Upload: 1 to 8 frames, each checked, nothing stored on a refusal --------------------------------


@pytest.mark.parametrize("count", [1, 2, 8])
def test_a_burst_of_one_to_eight_frames_is_stored_as_the_photo_and_its_frames(user, media_files, count):
    first, *more = burst(*[face_jpeg()] * count)

    detection = services.detection_create(user=user, upload=first, frames=more)

    assert detection.image and detection.status == DetectionStatus.QUEUED
    assert list(detection.frames.values_list("index", flat=True)) == list(range(1, count))
    assert len(media_files()) == count
    assert all(str(path.parent).endswith(f"photos/{user.pk}") for path in media_files())


def test_a_burst_of_nine_frames_is_refused_and_nothing_is_stored(user, media_files):
    first, *more = burst(*[face_jpeg()] * 9)

    with pytest.raises(ValidationError) as error:
        services.detection_create(user=user, upload=first, frames=more)

    assert error.value.message_dict["image"] == ["Send at most 8 frames in one burst; this one has 9."]
    assert not Detection.objects.exists() and media_files() == []


def test_a_frame_that_is_not_an_image_is_named_and_nothing_is_stored(user, media_files):
    first, second, third = burst(face_jpeg(), face_jpeg(), b"not a photo at all" * 10)

    with pytest.raises(ValidationError) as error:
        services.detection_create(user=user, upload=first, frames=[second, third])

    message = error.value.message_dict["image"][0]
    assert message.startswith("Frame 3: ") and "not a photo we can read" in message
    assert not Detection.objects.exists() and not DetectionFrame.objects.exists() and media_files() == []


def test_one_photo_is_refused_without_a_frame_number(user):
    with pytest.raises(ValidationError) as error:
        services.detection_create(user=user, upload=upload(b"not a photo at all" * 10, "a.jpg"))
    assert error.value.message_dict["image"][0].startswith("This file is not a photo")


# --- Analysis: the main face averaged over the frames that show it -----------------------------------


def test_the_main_face_is_averaged_over_the_frames_that_show_it_whatever_their_size(user, face_finder):
    frames = [face_jpeg(), face_jpeg(brightness=0.6), noisy_jpeg(), face_jpeg(scale=0.5)]
    first, *more = burst(*frames)
    detection = services.detection_create(user=user, upload=first, frames=more)

    done = analyse(detection, face_finder)

    assert done.status == DetectionStatus.DONE and done.frames_read == 3  # the face-free frame is not read
    readings = []
    for content in (frames[0], frames[1], frames[3]):
        rgb = np.asarray(Image.open(io.BytesIO(content)).convert("RGB"))
        readings.append(BrightnessClassifier().predict(face_finder.crop(rgb, face_finder.detect(rgb)[0])[None])[0])
    expected_happy = np.mean([reading[LABELS.index("happy")] for reading in readings])
    assert done.faces[0]["probabilities"]["happy"] == pytest.approx(expected_happy, rel=0.05)
    single = analyse(services.detection_create(user=user, upload=burst(frames[0])[0]), face_finder)
    assert single.frames_read == 1
    assert done.faces[0]["probabilities"]["happy"] < single.faces[0]["probabilities"]["happy"]  # the dark frame


def test_a_burst_whose_other_frames_show_no_face_reads_the_first_alone(user, face_finder):
    first, *more = burst(face_jpeg(), noisy_jpeg(), noisy_jpeg())

    done = analyse(services.detection_create(user=user, upload=first, frames=more), face_finder)

    assert done.status == DetectionStatus.DONE and done.frames_read == 1


def test_a_burst_whose_first_frame_shows_no_face_finds_none(user, face_finder):
    first, *more = burst(noisy_jpeg(), face_jpeg())

    done = analyse(services.detection_create(user=user, upload=first, frames=more), face_finder)

    assert done.status == DetectionStatus.NO_FACE and done.frames_read is None


def test_the_photo_hints_are_stored_with_the_result(user, face_finder):
    dark = services.detection_create(user=user, upload=burst(face_jpeg(brightness=0.15))[0])
    clear = services.detection_create(user=user, upload=burst(face_jpeg())[0])

    assert analyse(dark, face_finder).hints == ["dark"]
    assert analyse(clear, face_finder).hints == []


# --- Retention and deletion cover every frame -------------------------------------------------------


def stored_burst(user, count: int = 3) -> Detection:
    first, *more = burst(*[face_jpeg()] * count)
    return services.detection_create(user=user, upload=first, frames=more)


def test_deleting_a_detection_deletes_every_frame(user, media_files):
    detection = stored_burst(user)

    services.detection_delete(detection=detection)

    assert media_files() == [] and not DetectionFrame.objects.exists()


def test_deleting_the_photo_deletes_every_frame_and_keeps_the_result(user, media_files):
    detection = stored_burst(user)

    processing.detection_photo_delete(detection=detection)

    detection.refresh_from_db()
    assert media_files() == [] and not detection.frames.exists() and detection.photo_deleted is not None


def test_deleting_an_accounts_photos_deletes_every_frame(user, media_files):
    stored_burst(user)
    stored_burst(user, count=2)

    assert services.photos_delete_for(user=user) == 2
    assert media_files() == []


def test_retention_after_analysis_deletes_every_frame(user, media_files, face_finder):
    from accounts.models import PhotoRetention

    user.photo_retention = PhotoRetention.DELETE_AFTER_ANALYSIS
    user.save()
    detection = stored_burst(user)

    analyse(detection, face_finder)

    assert media_files() == [] and not DetectionFrame.objects.exists()


# --- Through the API -------------------------------------------------------------------------------


def post_frames(client, *frames: bytes):
    return client.post("/api/detections/", {"image": burst(*frames)}, format="multipart")


def test_the_api_takes_a_burst_and_says_how_many_frames_it_read(api_client, user, media_files):
    response = post_frames(api_client, face_jpeg(), face_jpeg(), face_jpeg())

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["frames_read"] is None and body["hints"] == []
    detection = Detection.objects.get(pk=body["id"], user=user)
    assert detection.frames.count() == 2 and len(media_files()) == 3


def test_the_api_names_a_bad_frame_and_stores_nothing(api_client, media_files):
    response = post_frames(api_client, face_jpeg(), b"\x00" * 500)

    assert response.status_code == 400
    assert response.json()["image"][0].startswith("Frame 2: ")
    assert not Detection.objects.exists() and media_files() == []


def test_the_api_refuses_more_than_eight_frames(api_client, media_files):
    response = post_frames(api_client, *[face_jpeg(scale=0.3)] * 9)

    assert response.status_code == 400
    assert response.json() == {"image": ["Send at most 8 frames in one burst; this one has 9."]}
    assert not Detection.objects.exists() and media_files() == []


def test_the_api_shows_the_hints_with_their_sentences(api_client, user):
    detection = Detection.objects.create(user=user, status=DetectionStatus.DONE, hints=["small_face", "blurred"])

    body = api_client.get(f"/api/detections/{detection.pk}/").json()

    assert body["hints"] == [
        {"code": "small_face", "message": "Your face is small in this photo; a closer one reads better."},
        {"code": "blurred", "message": "This photo looks blurred; a sharper one reads better."},
    ]


def test_the_result_page_shows_the_hints_and_the_frames_read(logged_in, user):
    from tests.factories import DetectionFactory

    detection = DetectionFactory(user=user, finished=True, hints=["dark"], frames_read=5)

    page = logged_in.get(f"/detections/{detection.pk}/").content.decode()

    assert "This photo is dark; one in brighter light reads better." in page
    assert "Read from 5 frames of your camera burst." in page


# --- The photo through the API, with the token ------------------------------------------------------


def test_the_photo_url_serves_the_owner_with_the_token(api_client, user):
    from tests.factories import DetectionFactory

    detection = DetectionFactory(user=user, finished=True)
    photo_url = api_client.get(f"/api/detections/{detection.pk}/").json()["photo_url"]

    response = api_client.get(photo_url)

    assert photo_url == f"/api/detections/{detection.pk}/photo/"
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    with detection.image.open("rb") as stored:
        assert b"".join(response.streaming_content) == stored.read()


def test_the_photo_url_is_404_to_an_outsider_and_401_to_nobody(other_client, anon_client, user):
    from tests.factories import DetectionFactory

    detection = DetectionFactory(user=user, finished=True)

    assert other_client.get(f"/api/detections/{detection.pk}/photo/").status_code == 404
    assert anon_client.get(f"/api/detections/{detection.pk}/photo/").status_code == 401


def test_a_deleted_photo_is_404_and_its_url_is_null(api_client, user):
    from tests.factories import DetectionFactory

    detection = DetectionFactory(user=user, finished=True)
    processing.detection_photo_delete(detection=detection)

    assert api_client.get(f"/api/detections/{detection.pk}/photo/").status_code == 404
    assert api_client.get(f"/api/detections/{detection.pk}/").json()["photo_url"] is None
