"""The site under failure: Redis stopping and returning, the database dropping connections."""

import pytest
from django.db import connection
from django.test import Client

from detection.models import Detection, DetectionStatus
from devserver import embedded_redis
from tests.conftest import FACES_DIR, upload_face, wait_for_end

pytestmark = pytest.mark.integration


@pytest.fixture
def own_redis(settings, tmp_path, broker_url):
    """A Redis of this test's own, which it may stop and start again."""
    socket_path = tmp_path / "outage.sock"
    url = f"redis+socket://{socket_path}"
    state = {"process": embedded_redis.start(socket_path=socket_path, data_dir=tmp_path / "redis")}
    settings.REDIS_URL = url
    broker_url(url)

    class Control:
        def stop(self) -> None:
            state["process"].terminate()
            state["process"].wait(timeout=10)

        def start(self) -> None:
            state["process"] = embedded_redis.start(socket_path=socket_path, data_dir=tmp_path / "redis")

    yield Control()
    state["process"].terminate()


def test_a_redis_outage_refuses_uploads_cleanly_and_work_resumes_after(
    own_redis, celery_worker_factory, api_client, user, settings
):
    worker = celery_worker_factory(REDIS_URL=settings.REDIS_URL)
    own_redis.stop()

    with open(FACES_DIR / "sad_1.jpg", "rb") as photo:
        refused = api_client.post("/api/detections/", {"image": photo}, format="multipart")
    assert refused.status_code == 503
    assert "try again" in refused.json()["detail"].lower()
    assert Detection.objects.count() == 0
    assert (
        not list((settings.MEDIA_ROOT / "photos").rglob("*.jpg")) if (settings.MEDIA_ROOT / "photos").exists() else True
    )

    health = Client().get("/healthz")
    assert health.status_code == 503
    assert health.json()["broker"].startswith("down")
    assert health.json()["database"] == "ok"

    browser = Client()
    browser.force_login(user)
    for page in ("/", "/history/", "/accounts/profile/", "/songs/"):
        assert browser.get(page).status_code == 200, page

    own_redis.start()
    assert Client().get("/healthz").status_code == 200
    detection = upload_face(api_client, "sad_1.jpg")
    what = "the worker to reconnect and finish the photo"
    assert wait_for_end(detection.pk, timeout_seconds=180, what=what, worker=worker).status == DetectionStatus.DONE


def wsgi_request(method: str, path: str, *, token: str, body: bytes = b"") -> tuple[int, dict]:
    """One request through Django's real WSGI handler, as gunicorn makes it.

    The test client skips close_old_connections at request boundaries, which
    is exactly the machinery this test is about.
    """
    import io
    import json
    from wsgiref.util import setup_testing_defaults

    from django.core.handlers.wsgi import WSGIHandler

    environ: dict = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "HTTP_AUTHORIZATION": f"Token {token}",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "SERVER_NAME": "testserver",
    }
    setup_testing_defaults(environ)
    status: list[str] = []
    chunks = WSGIHandler()(environ, lambda code, headers, exc_info=None: status.append(code))
    content = b"".join(chunks)
    chunks.close()
    return int(status[0].split()[0]), json.loads(content)


@pytest.mark.django_db(transaction=True)
def test_a_database_restart_between_requests_costs_no_data(user):
    if connection.vendor != "postgresql":
        pytest.skip("a SQLite file has no server to restart; CI runs this on PostgreSQL")
    import psycopg
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=user).key
    original_max_age = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = 60  # keep the connection across requests, as production may
    try:
        status, body = wsgi_request("PATCH", "/api/me/", token=token, body=b'{"strategy": "calm"}')
        assert status == 200, body
        backend_pid = connection.connection.info.backend_pid
        params = connection.get_connection_params()
        with psycopg.connect(
            dbname=params["dbname"],
            user=params.get("user"),
            host=params.get("host"),
            port=params.get("port"),
            autocommit=True,
        ) as admin:
            # What a server restart does to every open connection.
            admin.execute("SELECT pg_terminate_backend(%s)", [backend_pid])

        status, body = wsgi_request("GET", "/api/me/", token=token)

        assert status == 200, body
        assert body["strategy"] == "calm"
        assert connection.connection.info.backend_pid != backend_pid
        user.refresh_from_db()
        assert user.strategy == "calm"
    finally:
        connection.settings_dict["CONN_MAX_AGE"] = original_max_age
