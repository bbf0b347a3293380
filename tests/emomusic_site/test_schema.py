"""The OpenAPI schema says what the API answers and accepts (emomusic_site.schema.AutoSchema and the views'
extend_schema); tests/api/test_schemathesis.py holds the live API to it."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.generators import SchemaGenerator

from accounts.models import User

BODY_METHODS = {"post", "put", "patch"}


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema: dict):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_every_operation_declares_the_errors_it_can_answer(schema):
    missing = []
    for path, method, operation in operations(schema):
        answers = set(operation["responses"])
        secured = {} not in operation.get("security", [{}])
        expected = {"401"} if secured else set()
        if "{" in path:
            expected.add("404")
        if method in BODY_METHODS:
            expected |= {"400", "413", "415"}
        if not expected <= answers:
            missing.append(f"{method.upper()} {path}: {sorted(expected - answers)}")
    assert missing == []


def test_every_error_answer_has_a_body_schema(schema):
    bare = [
        f"{method.upper()} {path} {code}"
        for path, method, operation in operations(schema)
        for code, answer in operation["responses"].items()
        if code >= "400" and "application/json" not in answer.get("content", {})
    ]
    assert bare == []
    assert schema["components"]["schemas"]["ErrorOutput"]["required"] == ["detail"]


def test_the_answers_each_view_adds(schema):
    def answers(path, method):
        return set(schema["paths"][path][method]["responses"])

    assert {"200", "400", "404", "409"} <= answers("/api/recommendations/", "get")
    assert {"201", "400", "403"} <= answers("/api/songs/", "post")
    assert "403" in answers("/api/songs/{id}/", "delete")
    assert "404" in answers("/api/detections/", "get")  # a page past the last
    assert answers("/api/auth/signup/", "post") >= {"201", "400", "429"}
    assert "401" not in answers("/api/auth/signup/", "post")


def test_the_schema_says_what_the_api_accepts(schema):
    components = schema["components"]["schemas"]
    assert components["SongOutput"]["properties"]["mood"]["nullable"] is True
    assert components["DetectionCorrectInput"]["properties"]["emotion"]["$ref"].endswith("EmotionEnum")
    song_input = components["SongInput"]["properties"]
    assert (song_input["popularity"]["minimum"], song_input["popularity"]["maximum"]) == (0, 100)
    assert (song_input["energy"]["minimum"], song_input["energy"]["maximum"]) == (0, 1)
    assert song_input["length_ms"]["minimum"] == 1
    assert components["SignupInput"]["properties"]["password"]["minLength"] == 8
    assert components["TokenInput"]["properties"]["username"]["minLength"] == 1
    upload = schema["paths"]["/api/detections/"]["post"]["requestBody"]["content"]
    assert set(upload) == {"multipart/form-data"}


def test_a_photo_sent_as_a_plain_form_is_refused_as_such(api_client, user):
    response = api_client.post(
        "/api/detections/", "image=https%3A%2F%2F0.com", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 415
    assert "detail" in response.json()
    assert not user.detections.exists()


@pytest.mark.parametrize("value", ["0", "1", "yes", "on"])
def test_a_boolean_is_true_or_false_not_any_word(api_client, user, value):
    User.objects.filter(pk=user.pk).update(share_photos_for_training=True)

    response = api_client.patch("/api/me/", {"share_photos_for_training": value}, format="multipart")

    assert response.status_code == 400
    assert response.json() == {"share_photos_for_training": ["Give true or false."]}
    user.refresh_from_db()
    assert user.share_photos_for_training is True


def test_a_form_without_the_boolean_leaves_it_alone(api_client, user):
    """DRF read a missing checkbox as false: a multipart PATCH of the strategy alone cleared the sharing choice."""
    User.objects.filter(pk=user.pk).update(share_photos_for_training=True)

    response = api_client.patch("/api/me/", {"strategy": "calm"}, format="multipart")

    assert response.status_code == 200
    assert (response.json()["strategy"], response.json()["share_photos_for_training"]) == ("calm", True)
    user.refresh_from_db()
    assert (user.strategy, user.share_photos_for_training) == ("calm", True)


def test_a_form_may_say_true_or_false(api_client, user):
    response = api_client.patch("/api/me/", {"share_photos_for_training": "true"}, format="multipart")

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.share_photos_for_training is True


def test_favourites_is_true_or_false(api_client, user):
    response = api_client.get("/api/recommendations/", {"emotion": "sad", "favourites": "yes"})

    assert response.status_code == 400
    assert response.json() == {"favourites": ["Give true or false."]}


def test_an_upload_still_goes_as_multipart(api_client, user):
    response = api_client.post("/api/detections/", {"image": SimpleUploadedFile("x.jpg", b"")}, format="multipart")

    assert response.status_code == 400  # an empty file: the service's sentence, not the parser's
    assert "image" in response.json()
