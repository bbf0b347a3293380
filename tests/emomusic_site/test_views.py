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


@pytest.mark.django_db
def test_healthz_answers_within_a_second_when_redis_is_frozen(settings, tmp_path):
    """A Redis that takes connections and never answers (SIGSTOPped, say) took 4 to 16 s before."""
    import socket
    import time

    path = tmp_path / "frozen.sock"
    frozen = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    frozen.bind(str(path))
    frozen.listen(16)  # the kernel accepts connections; nobody ever reads or answers
    settings.REDIS_URL = f"redis+socket://{path}"
    try:
        started = time.monotonic()
        response = Client().get("/healthz")
        took = time.monotonic() - started
    finally:
        frozen.close()

    assert response.status_code == 503
    assert response.json()["broker"].startswith("down")
    assert took < 1.5, took


def test_healthz_is_exempt_from_the_https_redirect_in_production(tmp_path):
    """A probe over plain HTTP must see the 503, not a 301 that hides it; every other page still redirects."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "client = Client()\n"
        "print(client.get('/healthz').status_code, client.get('/').status_code)\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "emomusic_site.settings",
        "DJANGO_ENV": "production",
        "SECRET_KEY": "a-production-secret-" + "k" * 50,
        "ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": f"redis+socket://{tmp_path / 'nothing.sock'}",
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["503", "301"]
