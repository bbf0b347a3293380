"""/api/detections/: the HTTP contract of API.md."""

import base64
import json
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from detection import processing
from detection.models import Detection, DetectionStatus, Outcome
from detection.tasks import process_detection
from emomusic_site.health import redis_client
from ml.runtime.labels import LABELS
from recommendations.selectors import mood_mix_for
from tests.detection.images import image_bytes, noisy_jpeg, png_header_only, upload
from tests.factories import DetectionFactory, probabilities

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("moods")]

LIST_URL = "/api/detections/"
DETECTION_KEYS = {
    "id",
    "status",
    "created",
    "emotion",
    "confidence",
    "probabilities",
    "faces",
    "mood",
    "error",
    "model_version",
    "corrected_emotion",
}


def detail_url(detection: Detection) -> str:
    return f"/api/detections/{detection.pk}/"


# --- POST -------------------------------------------------------------------------


def test_upload_answers_202_queued_and_queues_the_task(api_client, user, django_capture_on_commit_callbacks):
    with (
        mock.patch.object(process_detection, "apply_async") as publish,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = api_client.post(LIST_URL, {"image": upload(image_bytes())}, format="multipart")

    assert response.status_code == 202
    body = response.json()
    assert set(body) >= DETECTION_KEYS
    assert body["status"] == "queued"
    assert body["emotion"] is None and body["probabilities"] is None and body["model_version"] is None
    assert body["mood"] is None and body["corrected_emotion"] is None and body["faces"] == [] and body["error"] == ""
    detection = Detection.objects.get()
    assert body["id"] == detection.pk and detection.user == user and detection.image
    assert body["photo_url"] == f"/api/detections/{detection.pk}/photo/"
    publish.assert_called_once_with(args=[detection.pk])


def test_upload_publishes_to_a_real_redis(api_client, redis_server, broker_url, django_capture_on_commit_callbacks):
    broker_url(redis_server)
    client = redis_client(timeout_seconds=2)
    client.delete("celery")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(LIST_URL, {"image": upload(image_bytes())}, format="multipart")
    assert response.status_code == 202
    messages = [json.loads(raw) for raw in client.lrange("celery", 0, -1)]
    assert len(messages) == 1
    assert messages[0]["headers"]["task"] == "detection.process"
    args, kwargs, _ = json.loads(base64.b64decode(messages[0]["body"]))
    assert (args, kwargs) == ([response.json()["id"]], {})
    client.delete("celery")


@pytest.mark.django_db(transaction=True)
def test_upload_while_redis_is_down_answers_503_and_keeps_nothing(api_client, broker_url, media_files, tmp_path):
    broker_url(f"redis+socket://{tmp_path / 'no-redis-here.sock'}")
    response = api_client.post(LIST_URL, {"image": upload(image_bytes())}, format="multipart")
    assert response.status_code == 503
    assert response.json() == {
        "detail": "We can't analyse photos right now. Nothing was saved; please try again in a minute."
    }
    assert not Detection.objects.exists()
    assert media_files() == []


BAD_UPLOADS = {
    "empty": (b"", "photo.jpg", "This file is empty. Please choose a photo."),
    "text": (b"just some words\n" * 10, "notes.jpg", "This file is not a photo we can read."),
    "html": (b"<html><body>hi</body></html>", "page.png", "This file is not a photo we can read."),
    "truncated": (noisy_jpeg()[:3000], "half.jpg", "This image file is damaged or incomplete."),
    "bomb": (png_header_only(20_000, 20_000), "bomb.png", "This image has far too many pixels."),
    "tiny": (image_bytes("PNG", size=(1, 1)), "dot.png", "This image is only 1x1 pixels,"),
    "gif": (image_bytes("GIF"), "anim.gif", "GIF files are not accepted."),
    "12 MB": (image_bytes() + b"\0" * (12 * 1024 * 1024), "huge.jpg", "This file is 12.0 MB, larger than the 10 MB"),
}


@pytest.mark.parametrize("case", BAD_UPLOADS)
def test_bad_uploads_answer_400_with_a_sentence(api_client, media_files, case):
    content, name, message = BAD_UPLOADS[case]
    with mock.patch.object(process_detection, "apply_async") as publish:
        response = api_client.post(LIST_URL, {"image": upload(content, name)}, format="multipart")
    assert response.status_code == 400
    errors = response.json()["image"]
    assert len(errors) == 1 and errors[0].startswith(message)
    assert not Detection.objects.exists()
    assert media_files() == []
    publish.assert_not_called()


def test_missing_image_field(api_client):
    response = api_client.post(LIST_URL, {"photo": upload(image_bytes())}, format="multipart")
    assert response.status_code == 400
    assert response.json() == {"image": ["Choose a photo to upload (multipart field 'image')."]}
    assert not Detection.objects.exists()


def test_image_sent_as_text(api_client):
    response = api_client.post(LIST_URL, {"image": "not a file"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["image"] == ["Send the photo as a file in the multipart field 'image'."]


def test_json_body_is_refused(api_client):
    response = api_client.post(LIST_URL, {"image": "abc"}, format="json")
    assert response.status_code == 415
    assert not Detection.objects.exists()


def test_uploads_are_rate_limited(api_client, settings):
    settings.RATE_LIMITS_ENABLED = True
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "upload_user": (2, 60)}
    with mock.patch.object(process_detection, "apply_async"):
        responses = [api_client.post(LIST_URL, {"image": upload(image_bytes())}, format="multipart") for _ in range(3)]
    assert [response.status_code for response in responses] == [202, 202, 429]
    assert responses[2].json()["detail"].startswith("Too many attempts. Try again in ")
    assert 0 < int(responses[2]["Retry-After"]) <= 60
    assert Detection.objects.count() == 2


# --- GET ----------------------------------------------------------------------------


def test_list_is_newest_first_paginated_and_only_mine(api_client, user, other_user):
    mine = DetectionFactory.create_batch(21, user=user)  # one more than a page
    DetectionFactory(user=other_user)

    response = api_client.get(LIST_URL)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 21 and body["previous"] is None and body["next"]
    assert [item["id"] for item in body["results"]] == [detection.pk for detection in reversed(mine)][:20]
    assert set(body["results"][0]) >= DETECTION_KEYS

    page_two = api_client.get(body["next"]).json()
    assert [item["id"] for item in page_two["results"]] == [mine[0].pk]
    assert page_two["next"] is None


def test_detail_of_a_finished_detection(api_client, user):
    happy = probabilities(happy=0.8, neutral=0.2)
    # Stored in any order, answered in LABELS order; the photo is no longer kept.
    detection = DetectionFactory(finished=True, user=user, shares=dict(reversed(happy.items())), photo=None)
    response = api_client.get(detail_url(detection))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "done" and body["emotion"] == "happy" and body["confidence"] == 0.8
    assert list(body["probabilities"]) == list(LABELS)
    assert sum(body["probabilities"].values()) == pytest.approx(1.0)
    assert body["faces"] == [{"box": [10, 20, 100, 120], "emotion": "happy", "probabilities": body["probabilities"]}]
    assert body["mood"] == "Happy" and body["model_version"] == "emotion-test-model"
    assert body["corrected_emotion"] is None and body["photo_url"] is None


def stuck(detection: Detection) -> Detection:
    """Created longer ago than any worker may take (processing.STUCK_AFTER)."""
    Detection.objects.filter(pk=detection.pk).update(
        created=timezone.now() - processing.STUCK_AFTER - timedelta(seconds=1)
    )
    return detection


@pytest.mark.parametrize("status", [DetectionStatus.QUEUED, DetectionStatus.PROCESSING])
def test_polling_a_stuck_detection_fails_it_with_no_worker_running(api_client, user, status):
    # No worker runs in the tests, and so neither does the sweep's Celery task: the poll alone ends the wait.
    detection = stuck(DetectionFactory(user=user, status=status))
    response = api_client.get(detail_url(detection))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "failed" and body["error"] == processing.STUCK_MESSAGE and body["emotion"] is None
    detection.refresh_from_db()
    assert detection.status == DetectionStatus.FAILED and detection.error == processing.STUCK_MESSAGE
    assert detection.finished is not None


def test_polling_a_pending_detection_within_the_limit_leaves_it_pending(api_client, user):
    detection = DetectionFactory(user=user, status=DetectionStatus.QUEUED)
    response = api_client.get(detail_url(detection))
    assert response.status_code == 200
    assert response.json()["status"] == "queued" and response.json()["error"] == ""
    detection.refresh_from_db()
    assert detection.status == DetectionStatus.QUEUED and detection.finished is None


def test_polling_another_users_stuck_detection_is_not_found_and_leaves_it(other_client, anon_client, user):
    detection = stuck(DetectionFactory(user=user, status=DetectionStatus.QUEUED))
    assert other_client.get(detail_url(detection)).status_code == 404
    assert anon_client.get(detail_url(detection)).status_code == 401
    detection.refresh_from_db()
    assert detection.status == DetectionStatus.QUEUED


def test_detail_shows_a_correction(api_client, user):
    detection = DetectionFactory(finished=True, user=user)
    Detection.objects.filter(pk=detection.pk).update(corrected_emotion="sad")
    assert api_client.get(detail_url(detection)).json()["corrected_emotion"] == "sad"


def test_mood_follows_the_users_current_strategy(api_client, user):
    detection = DetectionFactory(finished=True, user=user)
    assert api_client.get(detail_url(detection)).json()["mood"] == "Happy"  # match
    api_client.patch("/api/me/", {"strategy": "calm"}, format="json")
    assert api_client.get(detail_url(detection)).json()["mood"] == "Calm"
    assert api_client.get(LIST_URL).json()["results"][0]["mood"] == "Calm"
    recommendations = api_client.get("/api/recommendations/", {"detection": detection.pk}).json()
    assert recommendations["mood"] == "Calm" and recommendations["strategy"] == "calm"


# --- DELETE -------------------------------------------------------------------------


def test_delete_removes_the_row_and_the_photo(api_client, user, media_files):
    detection = DetectionFactory(user=user, photo=image_bytes())
    assert len(media_files()) == 1
    response = api_client.delete(detail_url(detection))
    assert response.status_code == 204
    assert response.content == b""
    assert not Detection.objects.exists()
    assert media_files() == []


# --- Other users and anonymous --------------------------------------------------------


def test_another_users_detection_is_not_found(other_client, user, media_files):
    detection = DetectionFactory(user=user, photo=image_bytes())
    assert other_client.get(detail_url(detection)).status_code == 404
    response = other_client.delete(detail_url(detection))
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert Detection.objects.filter(pk=detection.pk).exists()
    assert len(media_files()) == 1
    assert other_client.get(LIST_URL).json()["count"] == 0


def test_unknown_id_is_not_found(api_client):
    assert api_client.get("/api/detections/999999/").status_code == 404


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_list_and_create_are_401(anon_client, method):
    response = getattr(anon_client, method)(LIST_URL)
    assert response.status_code == 401
    assert "detail" in response.json()
    assert not Detection.objects.exists()


@pytest.mark.parametrize("method", ["get", "delete"])
def test_anonymous_detail_is_401(anon_client, user, method):
    detection = DetectionFactory(user=user)
    response = getattr(anon_client, method)(detail_url(detection))
    assert response.status_code == 401
    assert Detection.objects.filter(pk=detection.pk).exists()


@pytest.mark.parametrize("path", ["/api/detections/99999999999999999999999/", "/api/detections/-1/"])
def test_ids_outside_the_database_range_are_not_found(api_client, path):
    assert api_client.get(path).status_code == 404
    assert api_client.delete(path).status_code == 404


# --- Corrections ----------------------------------------------------------------------


def test_correct_records_the_emotion_and_its_mood(api_client, user):
    detection = DetectionFactory(finished=True, user=user)
    response = api_client.post(f"{detail_url(detection)}correct/", {"emotion": "sad"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["corrected_emotion"] == "sad"
    assert body["emotion"] == "happy" and body["confidence"] == 0.8  # the model's reading stays
    detection.refresh_from_db()
    assert detection.corrected_emotion == "sad" and detection.effective_emotion == "sad"
    assert body["mood"] == mood_mix_for(emotion="sad", strategy=user.strategy).mood.name == "Sad"


def test_correct_refuses_an_unknown_emotion(api_client, user):
    detection = DetectionFactory(finished=True, user=user)
    response = api_client.post(f"{detail_url(detection)}correct/", {"emotion": "bored"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "emotion": ["Choose one of the seven emotions: angry, disgust, fear, happy, sad, surprise, neutral."]
    }
    detection.refresh_from_db()
    assert detection.corrected_emotion == ""


def test_correct_needs_an_emotion(api_client, user):
    detection = DetectionFactory(finished=True, user=user)
    response = api_client.post(f"{detail_url(detection)}correct/", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {"emotion": ['Say which emotion is right, for example "sad".']}


@pytest.mark.parametrize("status", [DetectionStatus.QUEUED, DetectionStatus.NO_FACE, DetectionStatus.FAILED])
def test_correct_an_unfinished_detection_is_a_conflict(api_client, user, status):
    detection = DetectionFactory(user=user, status=status)
    response = api_client.post(f"{detail_url(detection)}correct/", {"emotion": "sad"}, format="json")
    assert response.status_code == 409
    assert response.json()["detail"].startswith("Only a finished analysis can be corrected.")
    detection.refresh_from_db()
    assert detection.corrected_emotion == ""


def test_correct_another_users_detection_is_not_found(other_client, user):
    detection = DetectionFactory(finished=True, user=user)
    response = other_client.post(f"{detail_url(detection)}correct/", {"emotion": "sad"}, format="json")
    assert response.status_code == 404
    detection.refresh_from_db()
    assert detection.corrected_emotion == ""


def test_correct_anonymous_is_401(anon_client, user):
    detection = DetectionFactory(finished=True, user=user)
    assert anon_client.post(f"{detail_url(detection)}correct/", {"emotion": "sad"}, format="json").status_code == 401


# --- Outcomes ----------------------------------------------------------------------------


def test_outcome_is_recorded_then_replaced(api_client, user):
    detection = DetectionFactory(finished=True, user=user)
    url = f"{detail_url(detection)}outcome/"
    first = api_client.post(url, {"mood_before": 2, "mood_after": 4}, format="json")
    assert first.status_code == 200
    body = first.json()
    assert body["detection"] == detection.pk and body["strategy"] == user.strategy
    assert (body["mood_before"], body["mood_after"]) == (2, 4)

    user.strategy = "calm"
    user.save()
    second = api_client.post(url, {"mood_before": 3, "mood_after": 5}, format="json")
    assert second.status_code == 200
    outcome = Outcome.objects.get()
    assert (outcome.mood_before, outcome.mood_after, outcome.strategy) == (3, 5, "calm")


@pytest.mark.parametrize(
    "payload",
    [
        {"mood_before": 0, "mood_after": 3},
        {"mood_before": 3, "mood_after": 6},
        {"mood_before": "x", "mood_after": 3},
        {},
    ],
)
def test_outcome_out_of_scale_is_400(api_client, user, payload):
    detection = DetectionFactory(finished=True, user=user)
    response = api_client.post(f"{detail_url(detection)}outcome/", payload, format="json")
    assert response.status_code == 400
    messages = [message for field in response.json().values() for message in field]
    assert all("whole number from 1 (very bad) to 5 (very good)" in message for message in messages) and messages
    assert not Outcome.objects.exists()


def test_outcome_of_an_unfinished_detection_is_a_conflict(api_client, user):
    detection = DetectionFactory(user=user, status=DetectionStatus.PROCESSING)
    response = api_client.post(f"{detail_url(detection)}outcome/", {"mood_before": 2, "mood_after": 4}, format="json")
    assert response.status_code == 409 and "once the analysis is finished" in response.json()["detail"]
    assert not Outcome.objects.exists()


def test_outcome_of_another_users_detection_is_not_found(other_client, anon_client, user):
    detection = DetectionFactory(finished=True, user=user)
    url = f"{detail_url(detection)}outcome/"
    assert other_client.post(url, {"mood_before": 2, "mood_after": 4}, format="json").status_code == 404
    assert anon_client.post(url, {"mood_before": 2, "mood_after": 4}, format="json").status_code == 401
    assert not Outcome.objects.exists()


# --- Which face is the user's (group photos) ----------------------------------------------


def group_detection(user) -> Detection:
    """Two faces, the user's (happy) first, and a correction to angry."""
    return DetectionFactory(
        finished=True,
        user=user,
        box=[300, 20, 120, 120],
        shares=probabilities(happy=0.9, neutral=0.1),
        others=[([10, 40, 80, 80], probabilities(sad=0.7, fear=0.3))],
        corrected_emotion="angry",
    )


def test_choosing_a_face_makes_the_emotion_and_mood_follow_it(api_client, user):
    detection = group_detection(user)
    response = api_client.post(f"{detail_url(detection)}face/", {"index": 1}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["main_face"], body["emotion"], body["confidence"], body["mood"]) == (1, "sad", 0.7, "Sad")
    assert body["probabilities"]["sad"] == 0.7 and body["corrected_emotion"] is None
    assert [face["emotion"] for face in body["faces"]] == ["happy", "sad"]  # the faces keep their order
    detection.refresh_from_db()
    assert (detection.main_face, detection.emotion, detection.corrected_emotion) == (1, "sad", "")
    songs = api_client.get("/api/recommendations/", {"detection": detection.pk}).json()
    assert (songs["emotion"], songs["mood"]) == ("sad", "Sad")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"index": 2}, "Choose a face from 0 to 1."),
        ({"index": -1}, "Give the face as its index in `faces`: a whole number from 0."),
        ({"index": "first"}, "Give the face as its index in `faces`: a whole number from 0."),
        ({}, "Give the face as its index in `faces`: a whole number from 0."),
    ],
)
def test_choosing_a_face_out_of_range_is_400(api_client, user, payload, message):
    detection = group_detection(user)
    response = api_client.post(f"{detail_url(detection)}face/", payload, format="json")
    assert response.status_code == 400
    assert response.json() == {"index": [message]}
    detection.refresh_from_db()
    assert (detection.main_face, detection.emotion, detection.corrected_emotion) == (0, "happy", "angry")


@pytest.mark.parametrize("status", [DetectionStatus.QUEUED, DetectionStatus.NO_FACE, DetectionStatus.FAILED])
def test_choosing_a_face_of_an_unfinished_detection_is_a_conflict(api_client, user, status):
    detection = DetectionFactory(user=user, status=status)
    response = api_client.post(f"{detail_url(detection)}face/", {"index": 0}, format="json")
    assert response.status_code == 409
    assert "finished" in response.json()["detail"]


def test_choosing_a_face_of_another_users_detection_is_not_found(other_client, anon_client, user):
    detection = group_detection(user)
    assert other_client.post(f"{detail_url(detection)}face/", {"index": 1}, format="json").status_code == 404
    assert anon_client.post(f"{detail_url(detection)}face/", {"index": 1}, format="json").status_code == 401
    detection.refresh_from_db()
    assert detection.main_face == 0 and detection.emotion == "happy"
