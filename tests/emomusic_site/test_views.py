import json

import pytest
from django.test import Client


@pytest.mark.django_db
def test_healthz_reports_database_broker_and_model(redis_server, settings, tmp_path):
    card = tmp_path / "model_card.json"
    card.write_text(json.dumps({"version": "emotion-cnn-test"}))
    settings.EMOTION_MODEL_PATH = tmp_path / "emotion_model.keras"

    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok", "model": "emotion-cnn-test"}
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_healthz_says_none_when_no_model_ships(redis_server, settings, tmp_path):
    settings.EMOTION_MODEL_PATH = tmp_path / "missing.keras"

    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json()["model"] == "none"


@pytest.mark.django_db
def test_healthz_answers_503_naming_the_broker_when_redis_is_down(settings, tmp_path):
    settings.REDIS_URL = f"redis+socket://{tmp_path / 'nothing-listens-here.sock'}"

    response = Client().get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"].startswith("down")


@pytest.mark.django_db
def test_healthz_answers_503_when_redis_url_points_at_a_closed_port(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = Client().get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"].startswith("down")


def test_healthz_needs_no_login_and_refuses_post(client, db):
    assert client.post("/healthz").status_code == 405


def test_openapi_schema_and_docs_are_served_without_a_cdn(client, db):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"openapi" in schema.content

    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()
