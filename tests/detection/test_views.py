"""The detection pages: landing, upload, result, photo, delete."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from accounts.models import PhotoRetention
from detection import processing
from detection.models import Detection, DetectionStatus, Outcome
from detection.tasks import process_detection
from ml.runtime.labels import LABELS
from tests.detection.images import image_bytes, upload
from tests.factories import DetectionFactory, probabilities

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("moods")]


def with_photo(user, **fields) -> Detection:
    return DetectionFactory(user=user, photo=image_bytes(), image_width=240, image_height=180, **fields)


def done(user, *, confidence: float = 0.82, emotion: str = "happy", **fields) -> Detection:
    """A finished photo of two faces: the user's reads `emotion` at `confidence` (the rest neutral), the other sad."""
    shares = probabilities(**{emotion: confidence, "neutral": 1 - confidence})
    if emotion == "neutral":
        shares = probabilities(neutral=1.0)
    return DetectionFactory(
        finished=True,
        user=user,
        shares=shares,
        emotion=emotion,
        confidence=confidence,
        box=[20, 30, 90, 100],
        others=[([150, 40, 40, 45], probabilities(sad=1.0))],
        **fields,
    )


# --- Home ---------------------------------------------------------------------------


def test_landing_page_for_visitors(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Music for how you feel right now" in page
    for words in ("Match my mood", "Lift my mood", "Calm me down", "Your photos stay yours"):
        assert words in page
    assert 'href="/accounts/signup/"' in page and 'href="/accounts/login/"' in page
    assert 'id="upload-form"' not in page


def test_upload_page_for_users(logged_in, user):
    previous = DetectionFactory(user=user, status=DetectionStatus.NO_FACE)
    response = logged_in.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="upload-form"' in page and 'action="/detections/new"' in page
    assert 'enctype="multipart/form-data"' in page and "csrfmiddlewaretoken" in page
    assert 'data-api-url="/api/detections/"' in page
    assert "Use my camera" in page and "Analyse" in page
    assert "Keep it for 24 hours" in page  # the user's retention choice, said on the page
    assert "deleting your account deletes everything" in page
    assert f'href="/detections/{previous.pk}/"' in page
    assert "js/upload.js" in page and "js/webcam.js" in page


# --- The form upload (no JavaScript) ------------------------------------------------------


def test_form_upload_redirects_to_the_result(logged_in, user, django_capture_on_commit_callbacks):
    with (
        mock.patch.object(process_detection, "apply_async") as publish,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = logged_in.post("/detections/new", {"image": upload(image_bytes())})
    detection = Detection.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/detections/{detection.pk}/"
    assert detection.user == user and detection.status == DetectionStatus.QUEUED
    publish.assert_called_once_with(args=[detection.pk])


def test_form_upload_of_a_bad_file_shows_the_sentence(logged_in, media_files):
    response = logged_in.post("/detections/new", {"image": upload(b"hello", "hello.jpg")})
    assert response.status_code == 400
    assert "This file is not a photo we can read." in response.content.decode()
    assert not Detection.objects.exists()
    assert media_files() == []


def test_form_upload_without_a_file(logged_in):
    response = logged_in.post("/detections/new", {})
    assert response.status_code == 400
    assert "Choose a photo to upload." in response.content.decode()
    assert not Detection.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_form_upload_while_redis_is_down(logged_in, broker_url, tmp_path, media_files):
    broker_url(f"redis+socket://{tmp_path / 'nobody.sock'}")
    response = logged_in.post("/detections/new", {"image": upload(image_bytes())})
    assert response.status_code == 503
    assert "We can&#x27;t analyse photos right now. Nothing was saved" in response.content.decode()
    assert not Detection.objects.exists()
    assert media_files() == []


def test_anonymous_upload_goes_to_login(client):
    response = client.post("/detections/new", {"image": upload(image_bytes())})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not Detection.objects.exists()


# --- The result page ---------------------------------------------------------------------


def test_pending_result_shows_progress_and_polls(logged_in, user):
    detection = with_photo(user, status=DetectionStatus.PROCESSING)
    response = logged_in.get(f"/detections/{detection.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Analysing your photo" in page and "<progress" in page
    assert f'data-api-url="/api/detections/{detection.pk}/"' in page
    assert 'data-status="processing"' in page and "js/detection.js" in page


def test_finished_result(logged_in, user):
    detection = done(user)
    page = logged_in.get(f"/detections/{detection.pk}/").content.decode()
    assert "You look <strong>happy</strong>" in page
    assert "The model is very sure about this: 82% happy." in page
    assert "isn't sure" not in page
    assert page.count('class="prob-label"') == 7
    assert '<rect class="prob-bar" width="82"' in page and '<rect class="prob-bar" width="18"' in page
    assert "style=" not in page  # nothing inline, for the Content-Security-Policy
    assert f'src="/detections/{detection.pk}/photo"' in page
    assert page.count('<rect class="face-box') == 2 and page.count("face-box-main") == 1
    assert 'viewBox="0 0 240 180"' in page
    assert "your songs are <strong data-mood-name>Happy</strong>" in page
    assert "emotion-test-model" not in page  # the model's version is for the API, not for people
    picker = re.search(r'<form class="pick-emotion".*?</form>', page, re.DOTALL).group(0)
    assert picker.count("<option ") == 7 and 'value="happy" selected' in picker


def test_low_confidence_is_said_plainly(logged_in, user):
    detection = done(user, confidence=0.38, emotion="fear")
    page = logged_in.get(f"/detections/{detection.pk}/").content.decode()
    assert "You look <strong>scared</strong>" in page
    assert "The model is unsure about this: 38% scared." in page
    assert "The model isn't sure about this photo. If it got you wrong, pick how you feel below." in page


def test_corrected_result_says_what_the_user_chose(logged_in, user):
    detection = done(user, corrected_emotion="sad")
    page = logged_in.get(f"/detections/{detection.pk}/").content.decode()
    assert "You said you feel <strong>sad</strong>" in page
    assert "The model read happy (82%)." in page


def test_a_whole_photo_read_as_a_face_is_explained(logged_in, user):
    detection = done(user)
    faces = detection.faces[:1]
    faces[0]["fallback"] = True
    Detection.objects.filter(pk=detection.pk).update(faces=faces)
    page = logged_in.get(f"/detections/{detection.pk}/").content.decode()
    assert "we read the whole photo as a close-up of it" in page


def test_no_face_result_says_what_to_do(logged_in, user):
    detection = with_photo(
        user, status=DetectionStatus.NO_FACE, error="We couldn't find a face. Try a well-lit, front-facing photo."
    )
    page = logged_in.get(f"/detections/{detection.pk}/").content.decode()
    assert page.count("find a face") == 1  # said once, not repeated
    assert '<a class="button" href="/mood/">Pick my mood instead</a>' in page
    assert 'href="/#camera">Try the camera</a>' in page and "<progress" not in page


def test_failed_result_shows_the_error(logged_in, user):
    detection = DetectionFactory(user=user, status=DetectionStatus.FAILED, error="It took too long. Try again.")
    page = logged_in.get(f"/detections/{detection.pk}/").content.decode()
    assert "We couldn't analyse this photo" in page and "It took too long. Try again." in page


@pytest.mark.parametrize("path", ["", "result"])
def test_a_stuck_result_is_failed_when_shown_with_no_worker_running(logged_in, user, path):
    detection = with_photo(user, status=DetectionStatus.QUEUED)
    Detection.objects.filter(pk=detection.pk).update(
        created=timezone.now() - processing.STUCK_AFTER - timedelta(seconds=1)
    )
    response = logged_in.get(f"/detections/{detection.pk}/{path}")
    assert response.status_code == 200
    page = response.content.decode()
    assert "We couldn't analyse this photo" in page and processing.STUCK_MESSAGE in page and "<progress" not in page
    detection.refresh_from_db()
    assert detection.status == DetectionStatus.FAILED and detection.error == processing.STUCK_MESSAGE


def test_deleted_photo_is_explained(logged_in, user):
    detection = done(user)
    detection.image.delete(save=False)
    Detection.objects.filter(pk=detection.pk).update(image="", photo_deleted="2026-11-23T10:00:00Z")
    page = logged_in.get(f"/detections/{detection.pk}/").content.decode()
    assert "The photo was deleted 23 Nov 2026" in page and "<img" not in page


def test_result_fragment_matches_the_state(logged_in, user):
    detection = done(user)
    response = logged_in.get(f"/detections/{detection.pk}/result")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    fragment = response.content.decode()
    assert "You look <strong>happy</strong>" in fragment and "<html" not in fragment


# --- The photo ------------------------------------------------------------------------------


def test_photo_is_served_to_its_owner_only(logged_in, outsider, client, user):
    detection = with_photo(user)
    response = logged_in.get(f"/detections/{detection.pk}/photo")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    with detection.image.open("rb") as stored:
        assert b"".join(response.streaming_content) == stored.read()

    assert outsider.get(f"/detections/{detection.pk}/photo").status_code == 404
    anonymous = client.get(f"/detections/{detection.pk}/photo")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")


def test_deleted_photo_is_not_found(logged_in, user):
    detection = DetectionFactory(user=user, status=DetectionStatus.DONE)
    assert logged_in.get(f"/detections/{detection.pk}/photo").status_code == 404


def test_media_root_has_no_url(client, user):
    detection = with_photo(user)
    assert client.get(f"/media/{detection.image.name}").status_code == 404
    assert client.get(f"/{detection.image.name}").status_code == 404


# --- Delete -----------------------------------------------------------------------------------


def test_delete_asks_then_deletes(logged_in, user, media_files):
    detection = with_photo(user)
    confirm = logged_in.get(f"/detections/{detection.pk}/delete")
    assert confirm.status_code == 200
    assert "Delete this result?" in confirm.content.decode()
    assert Detection.objects.filter(pk=detection.pk).exists()

    response = logged_in.post(f"/detections/{detection.pk}/delete")
    assert response.status_code == 302 and response["Location"] == "/"
    assert not Detection.objects.exists()
    assert media_files() == []


# --- Other users and anonymous ----------------------------------------------------------------

PAGES = ["/detections/{pk}/", "/detections/{pk}/result", "/detections/{pk}/photo", "/detections/{pk}/delete"]


@pytest.mark.parametrize("page", PAGES)
def test_another_users_pages_are_not_found(outsider, user, page):
    detection = with_photo(user)
    assert outsider.get(page.format(pk=detection.pk)).status_code == 404


def test_another_user_cannot_delete(outsider, user, media_files):
    detection = with_photo(user)
    assert outsider.post(f"/detections/{detection.pk}/delete").status_code == 404
    assert Detection.objects.filter(pk=detection.pk).exists()
    assert len(media_files()) == 1


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_pages_go_to_login(client, user, page):
    detection = with_photo(user)
    response = client.get(page.format(pk=detection.pk))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_retention_delete_is_said_on_the_upload_page(logged_in, user):
    user.photo_retention = PhotoRetention.DELETE_AFTER_ANALYSIS
    user.save()
    assert "Delete the photo as soon as it is analysed" in logged_in.get("/").content.decode()


@pytest.mark.parametrize("suffix", ["", "result", "photo", "delete"])
def test_huge_ids_are_not_found(logged_in, suffix):
    assert logged_in.get(f"/detections/99999999999999999999999/{suffix}").status_code == 404


def test_the_result_page_correction_form(logged_in, user):
    detection = done(user)
    response = logged_in.post(f"/detections/{detection.pk}/correct", {"emotion": "sad"})
    assert response.status_code == 302 and response["Location"] == f"/detections/{detection.pk}/"
    detection.refresh_from_db()
    assert detection.corrected_emotion == "sad"
    page = logged_in.get(response["Location"]).content.decode()
    assert "Your songs now follow the emotion you picked." in page
    assert "You said you feel <strong>sad</strong>" in page


def test_the_correction_form_refuses_nonsense(logged_in, user):
    detection = done(user)
    response = logged_in.post(f"/detections/{detection.pk}/correct", {"emotion": "<b>bored</b>"}, follow=True)
    assert "Choose one of the seven emotions" in response.content.decode()
    detection.refresh_from_db()
    assert detection.corrected_emotion == ""


@pytest.mark.parametrize(
    ("form", "data", "field", "unchanged"),
    [("correct", {"emotion": "sad"}, "corrected_emotion", ""), ("face", {"index": "1"}, "main_face", 0)],
)
def test_another_user_cannot_change_a_result(outsider, client, user, form, data, field, unchanged):
    detection = done(user)
    assert outsider.post(f"/detections/{detection.pk}/{form}", data).status_code == 404
    anonymous = client.post(f"/detections/{detection.pk}/{form}", data)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    detection.refresh_from_db()
    assert getattr(detection, field) == unchanged


def test_the_outcome_form(logged_in, user):
    detection = done(user)
    page = logged_in.get(f"/detections/{detection.pk}/").content.decode()
    assert "Did the music help?" in page and page.count('name="mood_before"') == 5

    response = logged_in.post(f"/detections/{detection.pk}/outcome", {"mood_before": "2", "mood_after": "4"})
    assert response.status_code == 302 and response["Location"] == f"/detections/{detection.pk}/"
    outcome = Outcome.objects.get(detection=detection)
    assert (outcome.mood_before, outcome.mood_after, outcome.strategy) == (2, 4, user.strategy)
    page = logged_in.get(response["Location"]).content.decode()
    assert "You told us you felt 2/5 before listening and 4/5 after." in page
    assert re.search(r'name="mood_before" value="2" required\s*checked', page)
    assert re.search(r'name="mood_after" value="4" required\s*checked', page)
    assert len(re.findall(r"required\s*checked", page)) == 2


def test_the_outcome_form_refuses_out_of_scale(logged_in, user):
    detection = done(user)
    response = logged_in.post(
        f"/detections/{detection.pk}/outcome", {"mood_before": "9", "mood_after": "4"}, follow=True
    )
    assert "Pick a number from 1 to 5" in response.content.decode()
    assert not Outcome.objects.exists()


def test_another_user_cannot_record_an_outcome(outsider, user):
    detection = done(user)
    assert outsider.post(f"/detections/{detection.pk}/outcome", {"mood_before": 2, "mood_after": 4}).status_code == 404
    assert not Outcome.objects.exists()


def test_form_uploads_are_rate_limited(logged_in, settings):
    settings.RATE_LIMITS_ENABLED = True
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "upload_user": (1, 60)}
    with mock.patch.object(process_detection, "apply_async"):
        first = logged_in.post("/detections/new", {"image": upload(image_bytes())})
        second = logged_in.post("/detections/new", {"image": upload(image_bytes())})
    assert first.status_code == 302
    assert second.status_code == 429
    assert "Too many attempts. Try again in" in second.content.decode()
    assert Detection.objects.count() == 1


# --- Plain words, one mood, group photos --------------------------------------------------------


def test_emotions_are_said_in_plain_words(logged_in, user):
    detection = done(user, emotion="surprise", confidence=0.7)
    page = logged_in.get(f"/detections/{detection.pk}/").content.decode()
    assert "You look <strong>surprised</strong>" in page and "70% surprised" in page
    assert ">Surprised</span>" in page and ">Surprise<" not in page
    assert not re.search(r"looks? surprise\b", page)
    assert 'aria-label="Face 1, looks surprised (the one we read)"' in page


def test_a_near_tie_is_said_and_the_mix_explained(logged_in, user):
    detection = done(user, emotion="fear", confidence=0.41)
    probabilities = {label: 0.0 for label in LABELS} | {"fear": 0.41, "surprise": 0.40, "sad": 0.19}
    Detection.objects.filter(pk=detection.pk).update(probabilities=probabilities)
    page = logged_in.get(f"/detections/{detection.pk}/").content.decode()
    assert "You look <strong>scared</strong> or <strong>surprised</strong>" in page
    assert "It's close: scared 41%, surprised 40%." in page
    # The point is the mix of the three places (valence 0.43, energy 0.73): in Happy's region.
    assert "your songs are <strong data-mood-name>Happy</strong>" in page
    assert "Scared 41%, surprised 40% and sad 19% together → Happy songs." in page


def test_the_mood_sentence_follows_the_strategy(logged_in, user):
    detection = done(user)
    page = logged_in.get(f"/detections/{detection.pk}/").content.decode()
    assert "For “<span data-mood-strategy>Match my mood</span>”, your songs are <strong data-mood-name>Happy" in page
    # The songs panel's choice for this page, kept in its address.
    page = logged_in.get(f"/detections/{detection.pk}/?strategy=calm").content.decode()
    assert "For “<span data-mood-strategy>Calm me down</span>”, your songs are <strong data-mood-name>Calm" in page
    assert '<option value="calm" selected>' in page
    # A changed default changes old results too.
    user.strategy = "uplift"
    user.save()
    page = logged_in.get(f"/detections/{detection.pk}/").content.decode()
    assert "For “<span data-mood-strategy>Lift my mood</span>”, your songs are <strong data-mood-name>Happy" in page
    assert logged_in.get(f"/detections/{detection.pk}/?strategy=nonsense").status_code == 200


def test_the_upload_page_lists_recent_moods_for_the_current_strategy(logged_in, user):
    done(user)
    assert "Happy, Happy songs" in logged_in.get("/").content.decode()
    user.strategy = "calm"
    user.save()
    assert "Happy, Calm songs" in logged_in.get("/").content.decode()


def test_get_detections_new_goes_to_the_upload_page(logged_in, client):
    response = logged_in.get("/detections/new")
    assert response.status_code == 302 and response["Location"] == "/"
    anonymous = client.get("/detections/new")
    assert anonymous.status_code == 302 and anonymous["Location"] == "/accounts/login/?next=/detections/new"


def test_faces_are_numbered_from_left_to_right_and_one_can_be_chosen(logged_in, user):
    detection = done(user)
    page = logged_in.get(f"/detections/{detection.pk}/").content.decode()
    assert "Which one is you?" in page and "we read face 1" in page
    assert 'aria-label="Face 2, looks sad"' in page
    response = logged_in.post(f"/detections/{detection.pk}/face", {"index": "1"})
    assert response.status_code == 302 and response["Location"] == f"/detections/{detection.pk}/"
    detection.refresh_from_db()
    assert detection.main_face == 1
    page = logged_in.get(response["Location"]).content.decode()
    assert "we read face 2" in page and "The emotion and your songs now follow the face you chose." in page


@pytest.mark.parametrize("index", ["7", "-1", "one", ""])
def test_choosing_a_face_refuses_nonsense(logged_in, user, index):
    detection = done(user)
    response = logged_in.post(f"/detections/{detection.pk}/face", {"index": index}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Choose a face from 0 to 1." in page or "Choose one of the numbered faces." in page
    detection.refresh_from_db()
    assert detection.main_face == 0
