"""Bad input, as users and attackers send it: a clear 4xx (or the right terminal status), never a 5xx.

The corpus of files goes through the API and the web form; the JSON
endpoints get malformed bodies, wrong types, out-of-range numbers, hostile
search strings and impossible ids. After each refusal nothing is stored and
/healthz still answers 200.
"""

import io
import json
import re
import time
from pathlib import Path
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from PIL import Image

from detection.models import Detection, DetectionStatus, Outcome
from detection.tasks import process_detection
from recommendations.models import Rating
from tests.factories import DetectionFactory, RatingFactory, SongFactory, UserFactory, probabilities
from tests.hardening.conftest import resolved_routes
from tests.hardening.corpus import CORPUS, ROTATED_STORED_SIZE, THREE_FACES, BadFile

pytestmark = pytest.mark.django_db

SENTENCE = re.compile(r"^[A-Z0-9].*[.!?]$", re.DOTALL)
HUGE_ID = 2**63


def as_upload(case: BadFile) -> SimpleUploadedFile:
    return SimpleUploadedFile(case.name, case.content, content_type=case.content_type)


def assert_healthy(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200, response.content


def assert_sentences(messages) -> None:
    assert messages, "no message given"
    for message in messages:
        assert SENTENCE.match(str(message)), f"not a sentence: {message!r}"


@pytest.fixture
def queue():
    """The Redis queue is a boundary here: accepted photos are handed to it, and the worker tests run it for real."""
    with mock.patch.object(process_detection, "apply_async") as publish:
        yield publish


# --- The file corpus x {API, web form} ------------------------------------------------------------


def assert_accepted_photo(case: BadFile, detection: Detection, stored: list[Path]) -> None:
    assert detection.status == DetectionStatus.QUEUED
    assert len(stored) == 1
    # The upload's name never reaches the filesystem.
    assert Path(case.name).stem not in stored[0].name
    with Image.open(stored[0]) as photo:
        assert photo.format == "JPEG" and photo.mode == "RGB"
        assert photo.size == (detection.image_width, detection.image_height)
        if case.id == "exif-rotated":
            # Found upright: the EXIF turn is applied, then dropped.
            assert photo.size == (ROTATED_STORED_SIZE[1], ROTATED_STORED_SIZE[0])
            assert 0x0112 not in photo.getexif()


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.id)
def test_the_corpus_through_the_api(
    case, api_client, user, media_files, queue, redis_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/detections/", {"image": as_upload(case)}, format="multipart")

    assert response.status_code == case.status, response.content
    body = response.json()
    if case.status == 400:
        assert list(body) == ["image"]
        assert case.message in body["image"][0]
        assert_sentences(body["image"])
        assert not Detection.objects.exists()
        assert media_files() == []
        queue.assert_not_called()
    else:
        detection = Detection.objects.get(user=user)
        assert body["id"] == detection.pk and body["status"] == "queued"
        assert_accepted_photo(case, detection, media_files())
        queue.assert_called_once_with(args=[detection.pk])
    assert_healthy(api_client)


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.id)
def test_the_corpus_through_the_web_form(
    case, logged_in, user, media_files, queue, redis_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post("/detections/new", {"image": as_upload(case)})

    if case.status == 400:
        assert response.status_code == 400
        page = response.content.decode()
        errors = re.search(r'<ul class="errorlist" id="image-errors" role="alert"><li>(.*?)</li>', page)
        assert errors, page[:2000]
        message = errors.group(1).replace("&#x27;", "'")
        assert case.message in message
        assert_sentences([message])
        assert not Detection.objects.exists()
        assert media_files() == []
        queue.assert_not_called()
    else:
        detection = Detection.objects.get(user=user)
        assert response.status_code == 302
        assert response["Location"] == f"/detections/{detection.pk}/"
        assert_accepted_photo(case, detection, media_files())
    assert_healthy(logged_in)


def test_a_multipart_upload_without_a_file_and_a_non_multipart_body(api_client, logged_in, media_files):
    for response in (
        api_client.post("/api/detections/", {}, format="multipart"),
        api_client.post("/api/detections/", {"image": "just text"}, format="multipart"),
        api_client.post("/api/detections/", b"\x89PNG garbage", content_type="image/png"),
        api_client.post("/api/detections/", "{not json", content_type="application/json"),
        logged_in.post("/detections/new", {}),
    ):
        assert 400 <= response.status_code < 500, response.content
    assert not Detection.objects.exists()
    assert media_files() == []


# --- The real worker decides what the corpus's photos hold ----------------------------------------


TERMINAL = {DetectionStatus.DONE, DetectionStatus.NO_FACE, DetectionStatus.FAILED}


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_worker_finds_no_face_three_faces_and_reads_odd_formats(celery_worker_factory, api_client, user):
    """One real worker for the photos the web side accepted: each ends in the right terminal state."""
    worker = celery_worker_factory()
    expected = {"no-face": "no_face", "three-faces": "done", "cmyk-jpeg": "no_face", "16-bit-png": "no_face"}
    ids = {}
    for case in CORPUS:
        if case.id in expected:
            response = api_client.post("/api/detections/", {"image": as_upload(case)}, format="multipart")
            assert response.status_code == 202, response.content
            ids[case.id] = response.json()["id"]

    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        if set(Detection.objects.filter(pk__in=ids.values()).values_list("status", flat=True)) <= TERMINAL:
            break
        time.sleep(0.3)
    else:
        raise AssertionError(f"the worker did not finish the corpus\n{worker.log()[-4000:]}")

    for case_id, status in expected.items():
        body = api_client.get(f"/api/detections/{ids[case_id]}/").json()
        assert body["status"] == status, (case_id, body)
        if status == "no_face":
            assert body["faces"] == [] and body["emotion"] is None
            assert_sentences([body["error"]])
    three = api_client.get(f"/api/detections/{ids['three-faces']}/").json()
    assert len(three["faces"]) == len(THREE_FACES)
    assert three["emotion"] == three["faces"][0]["emotion"]
    assert list(three["probabilities"]) == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    left_edges = sorted(face["box"][0] for face in three["faces"])
    assert left_edges[0] < 250 < left_edges[1] < 700 < left_edges[2], three["faces"]
    # The recommendations follow a finished detection with three faces like any other.
    recommended = api_client.get(f"/api/recommendations/?detection={ids['three-faces']}&limit=5")
    assert recommended.status_code == 200
    no_face = api_client.get(f"/api/recommendations/?detection={ids['no-face']}")
    assert no_face.status_code == 409
    assert_sentences([no_face.json()["detail"]])


# --- JSON endpoints -------------------------------------------------------------------------------


@pytest.fixture
def song(db):
    return SongFactory()


@pytest.fixture
def finished(user):
    return DetectionFactory(finished=True, user=user, shares=probabilities(happy=0.9, sad=0.1))


MALFORMED_BODIES = ["{not json", '{"score": 5,}', "[1, 2", "\x00\x01\x02", '"just a string"', "null", "[]", "12"]


@pytest.mark.parametrize("body", MALFORMED_BODIES)
def test_malformed_json_is_400_everywhere(body, api_client, anon_client, user, finished, song):
    targets = [
        (api_client, "post", "/api/ratings/"),
        (api_client, "patch", "/api/me/"),
        (api_client, "post", f"/api/detections/{finished.pk}/correct/"),
        (api_client, "post", f"/api/detections/{finished.pk}/outcome/"),
        (anon_client, "post", "/api/auth/signup/"),
        (anon_client, "post", "/api/auth/token/"),
    ]
    users_before = type(user).objects.count()
    for client, method, url in targets:
        response = getattr(client, method)(url, body, content_type="application/json")
        assert response.status_code == 400, (url, response.status_code, response.content)
        assert response.json(), url
    assert not Rating.objects.exists()
    assert type(user).objects.count() == users_before
    finished.refresh_from_db()
    assert finished.corrected_emotion in (None, "")


RATING_BODIES = [
    {"song": "one", "score": 5},
    {"song": [1], "score": 5},
    {"song": {"id": 1}, "score": 5},
    {"song": 10**30, "score": 5},
    {"song": None, "score": 5},
    {"song": HUGE_ID, "score": 5},
    {"song": -1, "score": 5},
    {"score": 5},
    {"song": "SONG", "score": "five"},
    {"song": "SONG", "score": None},
    {"song": "SONG", "score": [5]},
    {"song": "SONG", "score": {"value": 5}},
    {"song": "SONG", "score": 10**30},
    {"song": "SONG", "score": 0},
    {"song": "SONG", "score": 6},
    {"song": "SONG", "score": -1},
    {"song": "SONG", "score": 2.5},
    {"song": "SONG", "score": "2.5"},
    {"song": "SONG", "score": True},
    {"song": "SONG"},
    {"song": "SONG", "score": 5, "detection": "abc"},
    {"song": "SONG", "score": 5, "detection": HUGE_ID},
    {"song": "SONG", "score": 5, "detection": 10**30},
    {"song": "SONG", "score": 5, "detection": [1]},
    {"song": "SONG", "score": 5, "emotion": "ecstatic"},
    {"song": "SONG", "score": 5, "emotion": ["happy"]},
]


@pytest.mark.parametrize("payload", RATING_BODIES, ids=[json.dumps(body)[:60] for body in RATING_BODIES])
def test_bad_ratings_are_refused_with_a_message(payload, api_client, song):
    body = {key: (song.pk if value == "SONG" else value) for key, value in payload.items()}
    response = api_client.post("/api/ratings/", body, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()
    assert errors and all(isinstance(messages, list) and messages for messages in errors.values()), errors
    assert not Rating.objects.exists()


@pytest.mark.parametrize(
    "raw",
    [
        '{"song": 1e999, "score": 5}',
        '{"song": -1e999, "score": 5}',
        '{"song": 1.5, "score": 5}',
        '{"song": NaN, "score": 5}',
        '{"song": 1e30, "score": 5}',
        '{"song": 99999999999999999999999, "score": 5}',
    ],
)
def test_song_ids_that_are_not_whole_numbers_in_range_are_400(raw, api_client, song):
    response = api_client.post("/api/ratings/", raw, content_type="application/json")

    assert response.status_code == 400, response.content
    # NaN is not JSON at all (a parse error); the others name the field.
    assert response.json().get("song") or response.json().get("detail")
    assert not Rating.objects.exists()


def test_rating_an_unknown_or_another_users_detection_is_404(api_client, song, other_user):
    theirs = DetectionFactory(user=other_user, status=DetectionStatus.DONE, emotion="sad")
    for detection in (theirs.pk, 999_999, 2**63 - 1):
        response = api_client.post(
            "/api/ratings/", {"song": song.pk, "score": 4, "detection": detection}, format="json"
        )
        assert response.status_code in (400, 404), response.content
    assert not Rating.objects.exists()


@pytest.mark.parametrize("limit", ["0", "51", "-1", "abc", str(10**30), "1e3", "5.5", "\x00"])
def test_out_of_range_limits_are_400(limit, api_client, finished):
    for query in ({"emotion": "sad", "limit": limit}, {"detection": finished.pk, "limit": limit}):
        response = api_client.get("/api/recommendations/", query)
        assert response.status_code == 400, (query, response.content)
        assert "limit" in response.json()


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"emotion": "ecstatic"},
        {"emotion": "sad", "detection": "1"},
        {"detection": "abc"},
        {"detection": str(HUGE_ID)},
        {"detection": "-5"},
        {"emotion": "sad", "strategy": "chaos"},
        {"emotion": "<script>alert(1)</script>"},
    ],
)
def test_bad_recommendation_queries_are_400(query, api_client):
    response = api_client.get("/api/recommendations/", query)
    assert response.status_code == 400, response.content
    assert response.json()


def test_recommendations_for_unknown_or_another_users_detection_are_404(api_client, other_user):
    theirs = DetectionFactory(user=other_user, status=DetectionStatus.DONE, emotion="sad")
    for detection in (theirs.pk, 999_999, 2**63 - 1):
        assert api_client.get("/api/recommendations/", {"detection": detection}).status_code == 404


HOSTILE_STRINGS = [
    "'; DROP TABLE catalog_song; --",
    "%",
    "_",
    "%%__%%",
    "\\",
    "\x00",
    "a\x00b",
    "x" * 5000,
    "\u202eevil\u202c",
    "مرحبا بالعالم",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "🎵 \u200b",
    "{{ 7*7 }}",
]


@pytest.mark.parametrize("text", HOSTILE_STRINGS, ids=range(len(HOSTILE_STRINGS)))
def test_hostile_search_strings_are_plain_text(text, api_client, logged_in, song):
    for params in ({"search": text}, {"mood": text}, {"genre": text}, {"search": text, "page": text}):
        response = api_client.get("/api/songs/", params)
        assert response.status_code in (200, 404), (params, response.status_code)
        literal = text.replace("\x00", "").strip()
        if params.keys() == {"search"} and literal and literal not in song.name:
            assert response.json()["count"] == 0, (text, response.json())
        page = logged_in.get("/songs/", params)
        assert page.status_code in (200, 404), (params, page.status_code)
        if page.status_code == 200:
            assert "<script>alert(1)</script>" not in page.content.decode()
    from catalog.models import Song

    assert Song.objects.filter(pk=song.pk).exists()


def test_a_wildcard_search_matches_literally(api_client):
    SongFactory(name="100% Pure Love")
    SongFactory(name="Plain Song")
    names = [item["name"] for item in api_client.get("/api/songs/", {"search": "%"}).json()["results"]]
    assert names == ["100% Pure Love"]
    assert api_client.get("/api/songs/", {"search": "_"}).json()["count"] == 0


@pytest.mark.parametrize("bad", ["0", "-1", "abc", str(HUGE_ID), str(10**30), "1.5", "%00", "1%20OR%201=1"])
def test_unknown_and_impossible_ids_are_404_on_every_object_endpoint(bad, api_client, logged_in, staff_client):
    api_paths = [
        ("get", f"/api/detections/{bad}/"),
        ("delete", f"/api/detections/{bad}/"),
        ("post", f"/api/detections/{bad}/correct/"),
        ("post", f"/api/detections/{bad}/outcome/"),
        ("delete", f"/api/ratings/{bad}/"),
        ("get", f"/api/songs/{bad}/"),
    ]
    for method, path in api_paths:
        response = getattr(api_client, method)(path, {}, format="json")
        assert response.status_code == 404, (method, path, response.status_code)
    for method in ("patch", "delete"):
        assert getattr(staff_client, method)(f"/api/songs/{bad}/", {}, format="json").status_code == 404
    page_paths = [
        ("get", f"/detections/{bad}/"),
        ("get", f"/detections/{bad}/result"),
        ("get", f"/detections/{bad}/photo"),
        ("get", f"/detections/{bad}/delete"),
        ("post", f"/detections/{bad}/delete"),
        ("post", f"/detections/{bad}/correct"),
        ("post", f"/detections/{bad}/outcome"),
        ("post", f"/history/ratings/{bad}/delete"),
    ]
    for method, path in page_paths:
        response = getattr(logged_in, method)(path)
        assert response.status_code == 404, (method, path, response.status_code)


@pytest.mark.parametrize(
    "payload",
    [
        {"emotion": "ecstatic"},
        {"emotion": ""},
        {"emotion": None},
        {"emotion": ["sad"]},
        {"emotion": 3},
        {},
    ],
)
def test_bad_corrections_are_400(payload, api_client, finished):
    response = api_client.post(f"/api/detections/{finished.pk}/correct/", payload, format="json")
    assert response.status_code == 400, response.content
    finished.refresh_from_db()
    assert not finished.corrected_emotion


@pytest.mark.parametrize(
    "payload",
    [
        {"mood_before": 0, "mood_after": 3},
        {"mood_before": 6, "mood_after": 3},
        {"mood_before": -1, "mood_after": 3},
        {"mood_before": 2.5, "mood_after": 3},
        {"mood_before": "three", "mood_after": 3},
        {"mood_before": 10**30, "mood_after": 3},
        {"mood_before": None, "mood_after": 3},
        {"mood_before": 3},
    ],
)
def test_bad_outcomes_are_400(payload, api_client, finished):
    response = api_client.post(f"/api/detections/{finished.pk}/outcome/", payload, format="json")
    assert response.status_code == 400, response.content
    assert not Outcome.objects.filter(detection=finished).exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"strategy": "chaos"},
        {"strategy": None},
        {"strategy": ["match"]},
        {"photo_retention": "forever"},
        {"share_photos_for_training": "perhaps"},
        {"share_photos_for_training": [True]},
    ],
)
def test_bad_preferences_are_400(payload, api_client, user):
    before = (user.strategy, user.photo_retention, user.share_photos_for_training)
    response = api_client.patch("/api/me/", payload, format="json")
    assert response.status_code == 400, response.content
    user.refresh_from_db()
    assert (user.strategy, user.photo_retention, user.share_photos_for_training) == before


@pytest.mark.parametrize(
    "payload",
    [
        {"username": "", "password": "a long enough pass phrase"},
        {"username": ["alice"], "password": "a long enough pass phrase"},
        {"username": "alice", "password": None},
        {"username": "x" * 151, "password": "a long enough pass phrase"},
        {"username": "a\x00b", "password": "a long enough pass phrase"},
        {"username": "<script>", "password": "a long enough pass phrase"},
        {"username": "alice", "password": "a long enough pass phrase", "email": "not an email"},
        {"username": "alice", "password": "x" * 5000},
        {"username": "alice", "password": "123"},
    ],
)
def test_bad_signups_are_400(payload, anon_client, django_user_model):
    response = anon_client.post("/api/auth/signup/", payload, format="json")
    assert response.status_code == 400, response.content
    assert not django_user_model.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"username": None, "password": None},
        {"username": ["a"], "password": "b"},
        {"username": "a\x00", "password": "b"},
    ],
)
def test_bad_token_requests_are_400(payload, anon_client, user):
    response = anon_client.post("/api/auth/token/", payload, format="json")
    assert response.status_code == 400, response.content
    assert "token" not in response.json()


# --- The "no 5xx" sweep over every API route ---------------------------------------------------


def api_routes() -> list[str]:
    """Every /api/ URL pattern as a path template with {id} where it takes an id."""
    templates = set()
    for route in resolved_routes():
        if not route.startswith("api/"):
            continue
        route = route.replace("\\.", ".")
        route = re.sub(r"<(?:int:)?\w+>|\(\?P<\w+>[^)]*\)", "{id}", route)
        templates.add("/" + route)
    return sorted(templates)


GARBAGE_BODIES = [
    ("application/json", "{not json"),
    ("application/json", json.dumps({"song": "x", "score": "y", "emotion": 5, "strategy": [], "image": None})),
    ("application/json", json.dumps([1, 2, 3])),
    ("application/json", json.dumps({"a": {"b": {"c": [None] * 50}}, "limit": 10**30})),
    ("text/plain", "hello"),
    ("application/x-www-form-urlencoded", "song=%00&score=%FF&emotion=%E2%80%AE"),
    ("multipart/form-data; boundary=nope", "--nope\r\nbroken"),
    ("application/xml", "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>"),
]


def test_the_sweep_finds_the_documented_routes():
    routes = api_routes()
    for expected in [
        "/api/auth/signup/",
        "/api/auth/token/",
        "/api/me/",
        "/api/me/export/",
        "/api/detections/",
        "/api/detections/{id}/",
        "/api/detections/{id}/correct/",
        "/api/detections/{id}/outcome/",
        "/api/recommendations/",
        "/api/ratings/",
        "/api/ratings/{id}/",
        "/api/songs/",
        "/api/songs/{id}/",
    ]:
        assert expected in routes, routes


def test_no_api_route_answers_5xx_to_garbage(settings, user, other_user, staff_user, finished, song):
    settings.RATE_LIMITS_ENABLED = False
    mine = RatingFactory(user=user, song=song)
    theirs = DetectionFactory(user=other_user)
    ids = [str(finished.pk), str(mine.pk), str(theirs.pk), "0", "999999", str(HUGE_ID), "abc", "-1"]
    clients = {}
    for who, account in (("user", user), ("staff", staff_user)):
        client = Client()
        client.force_login(account)
        clients[who] = client
    clients["anonymous"] = Client()
    from rest_framework.authtoken.models import Token

    token, _ = Token.objects.get_or_create(user=user)
    token_client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    clients["token"] = token_client
    clients["bad-token"] = Client(HTTP_AUTHORIZATION="Token \x00' OR 1=1")

    failures = []
    for template in api_routes():
        if template == "/api/me/":
            continue  # DELETE would remove the account the sweep runs as; covered below.
        paths = [template.replace("{id}", value) for value in ids] if "{id}" in template else [template]
        for path in paths:
            for who, client in clients.items():
                for method in ("get", "post", "put", "patch", "delete", "options"):
                    for content_type, body in GARBAGE_BODIES[:3] if method != "get" else [(None, None)]:
                        kwargs = {"content_type": content_type} if content_type else {}
                        response = (
                            getattr(client, method)(path, body, **kwargs) if body else getattr(client, method)(path)
                        )
                        if response.status_code >= 500:
                            failures.append((who, method, path, body, response.status_code))
    # Every garbage body against the collection routes, which parse bodies.
    for template in api_routes():
        if "{id}" in template or template == "/api/me/":
            continue
        for content_type, body in GARBAGE_BODIES:
            for method in ("post", "put", "patch"):
                response = getattr(token_client, method)(template, body, content_type=content_type)
                if response.status_code >= 500:
                    failures.append(("token", method, template, body, response.status_code))
    for content_type, body in GARBAGE_BODIES:
        response = token_client.patch("/api/me/", body, content_type=content_type)
        if response.status_code >= 500:
            failures.append(("token", "patch", "/api/me/", body, response.status_code))
    assert failures == []
    assert Detection.objects.filter(pk=theirs.pk).exists()
    assert Client().get("/api/schema/").status_code == 200


def test_query_strings_of_garbage_never_answer_5xx(api_client):
    garbage = ["%", "%00", "%FF", "a=1&a=2&a=3", "limit[]=1", "emotion=%E2%80%AE", "page=-1", "page=" + "9" * 40]
    for template in api_routes():
        if "{id}" in template:
            continue
        for query in garbage:
            response = api_client.get(f"{template}?{query}")
            assert response.status_code < 500, (template, query, response.status_code)


def test_a_photo_sent_as_json_or_base64_is_refused(api_client, media_files):
    buffer = io.BytesIO()
    Image.new("RGB", (100, 100)).save(buffer, format="PNG")
    import base64

    response = api_client.post(
        "/api/detections/", {"image": base64.b64encode(buffer.getvalue()).decode()}, format="json"
    )
    assert 400 <= response.status_code < 500
    assert not Detection.objects.exists()
    assert media_files() == []


def test_deleting_someone_elses_things_by_guessing_ids_leaves_them(api_client, other_user, song):
    their_rating = RatingFactory(user=other_user, song=song)
    their_detection = DetectionFactory(user=other_user)
    assert api_client.delete(f"/api/ratings/{their_rating.pk}/").status_code == 404
    assert api_client.delete(f"/api/detections/{their_detection.pk}/").status_code == 404
    assert Rating.objects.filter(pk=their_rating.pk).exists()
    assert Detection.objects.filter(pk=their_detection.pk).exists()
    # A fresh account cannot see them in its lists either.
    fresh = UserFactory()
    fresh_client = Client()
    fresh_client.force_login(fresh)
    assert fresh_client.get("/api/ratings/").json()["count"] == 0
    assert fresh_client.get("/api/detections/").json()["count"] == 0


def test_bodies_built_to_exhaust_the_parser_are_4xx_json(api_client, anon_client, user, django_user_model):
    deep = "[" * 100_000 + "]" * 100_000
    for client, method, url in (
        (api_client, "post", "/api/ratings/"),
        (api_client, "patch", "/api/me/"),
        (anon_client, "post", "/api/auth/token/"),
        (anon_client, "post", "/api/auth/signup/"),
    ):
        response = getattr(client, method)(url, deep, content_type="application/json")
        assert response.status_code == 400, (url, response.status_code)
        assert "nested too deeply" in response.json()["detail"]
    many_fields = "&".join(f"field{index}=1" for index in range(5_000))
    oversized = json.dumps({"song": "x" * 3_000_000, "score": 5})
    for body, content_type, status in (
        (many_fields, "application/x-www-form-urlencoded", 400),
        (oversized, "application/json", 413),
    ):
        response = api_client.post("/api/ratings/", body, content_type=content_type)
        assert response.status_code == status and response.json()["detail"], (content_type, response.content[:80])
    for body in ('{"song": 1e999, "score": NaN}', '{"song": 1, "score": 1e400}', b'{"song": "\xff\xfe"}'):
        assert api_client.post("/api/ratings/", body, content_type="application/json").status_code == 400
    assert not Rating.objects.exists()
    assert django_user_model.objects.count() == 1


def page_routes() -> list[str]:
    """Every route outside /api/ and the admin, with {id} where it takes an id."""
    routes = []

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            pattern = str(entry.pattern).replace("^", "").replace("$", "")
            if isinstance(entry, URLResolver):
                if not (prefix + pattern).startswith(("admin/", "api/")):
                    walk(entry.url_patterns, prefix + pattern)
            elif isinstance(entry, URLPattern) and not (prefix + pattern).startswith("api/"):
                routes.append(prefix + pattern)

    walk(get_resolver().url_patterns, "")
    return sorted({"/" + re.sub(r"<(?:int:)?(\w+)>|\(\?P<(\w+)>[^)]*\)", r"{\1\2}", route) for route in routes})


GARBAGE_FORMS = [
    {},
    {
        "emotion": "\x00",
        "mood_before": "9" * 40,
        "mood_after": "-1",
        "strategy": "chaos",
        "photo_retention": ["a", "b"],
    },
    {"username": "x" * 10_000, "password": "\x00", "password1": "a", "password2": "b", "email": "@@"},
    {"next": "https://evil.example/", "new_password1": "1", "new_password2": "2", "old_password": "nope"},
    {"image": "not a file", "csv_file": "nope", "page": "-1", "emotion": "<script>"},
]
GARBAGE_QUERIES = [
    "page=-1",
    "page=abc",
    "page=" + "9" * 40,
    "emotion=%00",
    "emotion=ecstatic",
    "search=%25",
    "ratings_page=0",
]


def test_no_page_answers_5xx_to_garbage(user, finished, song, settings, redis_server):
    settings.RATE_LIMITS_ENABLED = False
    mine = RatingFactory(user=user, song=song)
    values = {"detection_id": str(finished.pk), "rating_id": str(mine.pk), "uidb64": "MQ", "token": "set-password"}
    client = Client()
    failures = []
    for template in page_routes():
        path = template
        for name, value in values.items():
            path = path.replace("{" + name + "}", value)
        for query in GARBAGE_QUERIES:
            client.force_login(user)
            response = client.get(f"{path}?{query}")
            if response.status_code >= 500:
                failures.append(("get", path, query, response.status_code))
        for body in GARBAGE_FORMS:
            client.force_login(user)
            response = client.post(path, body)
            if response.status_code >= 500:
                failures.append(("post", path, body, response.status_code))
            anonymous = Client().post(path, body)
            if anonymous.status_code >= 500:
                failures.append(("anonymous post", path, body, anonymous.status_code))
    assert failures == []
    # Garbage never deleted the account (that takes its password); the delete buttons' own POSTs did delete.
    assert type(user).objects.filter(pk=user.pk, is_active=True).exists()
