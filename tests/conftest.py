"""Fixtures every test package shares: users, API clients, media, Redis."""

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import User
from catalog import schema as song_schema
from catalog.models import Mood
from detection.models import Detection, DetectionStatus
from emomusic_site.celery import app as celery_app
from tests.factories import MoodFactory, UserFactory

FIXTURES_DIR = Path(__file__).parent / "fixtures"
FACES_DIR = FIXTURES_DIR / "faces"
FER_FIXTURE_DIR = FIXTURES_DIR / "fer2013"

# The Song object of the API contract: the schema's fields and the labels
# (tests/catalog/test_schema.py holds the schema to the contract's names).
SONG_FIELDS = {"id", *song_schema.SONG_FIELDS, "mood", "genre", "subgenre", "spotify_url"}


# Playwright's sync API keeps an event loop running in the test thread for the
# whole session, so Django sees "an async context" in every browser test, from
# the set-up of the live server's database to its flush after the test. The
# switch is on exactly that long (a fixture's monkeypatch is undone before the
# flush) and only for tests marked `browser`.
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    if item.get_closest_marker("browser"):
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    if item.get_closest_marker("browser"):
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[str]:
    """A real Redis: the one in REDIS_URL, else the embedded one on the test socket."""
    if os.environ.get("REDIS_URL"):
        yield settings.REDIS_URL
        return
    from devserver import embedded_redis

    process = embedded_redis.start(socket_path=settings.REDIS_SOCKET, data_dir=tmp_path_factory.mktemp("redis"))
    try:
        yield settings.REDIS_URL
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(autouse=True)
def _private_media_root(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def storage_down(settings):
    """Take the photo storage down from now on: storage_down(), storage_down("refused", deletes_before_outage=1).

    Failures as the S3 backend raises them (tests/storage_outage.py); the photos stored before stay in place.
    """

    def take_down(failure: str = "unreachable", *, deletes_before_outage: int = 0) -> None:
        options = {"location": settings.MEDIA_ROOT, "failure": failure, "deletes_before_outage": deletes_before_outage}
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {"BACKEND": "tests.storage_outage.DownStorage", "OPTIONS": options},
        }

    return take_down


@pytest.fixture
def media_files(settings) -> Callable[[], list[Path]]:
    """Lists the files stored under this test's MEDIA_ROOT: media_files()."""

    def stored() -> list[Path]:
        root = Path(settings.MEDIA_ROOT)
        return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []

    return stored


@pytest.fixture
def moods(db) -> list[Mood]:
    """The four moods the recommender maps emotions to."""
    return [MoodFactory(name=name) for name in ("Happy", "Sad", "Calm", "Energetic")]


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def staff_user(db):
    return UserFactory(staff=True)


@pytest.fixture
def client_for(db) -> Callable[[User], Client]:
    """A fresh Django test client logged in as the given user: client_for(user)."""

    def log_in(account: User) -> Client:
        client = Client()
        client.force_login(account)
        return client

    return log_in


@pytest.fixture
def logged_in(client_for, user) -> Client:
    """The pages as `user` sees them (a client of its own: `client` stays anonymous)."""
    return client_for(user)


@pytest.fixture
def outsider(client_for, other_user) -> Client:
    """The pages as another user sees them."""
    return client_for(other_user)


@pytest.fixture
def staff(client_for, staff_user) -> Client:
    """The site and its admin as staff see them."""
    return client_for(staff_user)


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


def _token_client(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api_client(user) -> APIClient:
    return _token_client(user)


@pytest.fixture
def other_client(other_user) -> APIClient:
    return _token_client(other_user)


@pytest.fixture
def staff_client(staff_user) -> APIClient:
    return _token_client(staff_user)


# The states a detection ends in; a worker leaves it in one of these.
TERMINAL = {DetectionStatus.DONE, DetectionStatus.NO_FACE, DetectionStatus.FAILED}


def upload_face(client, name: str = "happy_1.jpg") -> Detection:
    """Send a face photo of tests/fixtures/faces to the API as `client`'s user; it is queued."""
    with open(FACES_DIR / name, "rb") as photo:
        response = client.post("/api/detections/", {"image": photo}, format="multipart")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued"
    return Detection.objects.get(pk=response.json()["id"])


def wait_for(predicate, *, timeout_seconds: float, what: str, worker=None) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    log = worker.log()[-4000:] if worker else ""
    raise AssertionError(f"timed out waiting for {what}\n{log}")


def wait_for_end(detection_id: int, *, timeout_seconds: float, what: str, worker=None) -> Detection:
    """Wait until a worker leaves the detection in a terminal state, and return it."""
    wait_for(
        lambda: Detection.objects.get(pk=detection_id).status in TERMINAL,
        timeout_seconds=timeout_seconds,
        what=what,
        worker=worker,
    )
    return Detection.objects.get(pk=detection_id)


def _database_url_for_other_processes() -> str:
    """A DATABASE_URL naming the test database, for a worker in another process."""
    from django.db import connection

    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings_dict['NAME']}"
    if connection.vendor == "postgresql":
        user = settings_dict.get("USER") or ""
        password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
        auth = f"{user}{password}@" if user else ""
        host = settings_dict.get("HOST") or "127.0.0.1"
        port = settings_dict.get("PORT") or 5432
        return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"
    raise RuntimeError(f"no worker support for the {connection.vendor} backend")


# One process at a time, and no chatter with other workers: the tests watch this one worker alone.
WORKER_ARGUMENTS = shlex.split(
    "-m celery -A emomusic_site worker --loglevel INFO --concurrency 1 --pool prefork --without-gossip --without-mingle"
)


class CeleryWorker:
    """A real `celery worker` process on the test database and the test Redis."""

    def __init__(self, *, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, *, timeout_seconds: float = 120.0) -> None:

        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [sys.executable, *WORKER_ARGUMENTS, "--hostname", f"test-{time.monotonic_ns()}@%h"],
            cwd=Path(__file__).resolve().parents[1],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited early:\n{self.log()}")
            if " ready." in self.log():
                return
            time.sleep(0.2)
        raise RuntimeError(f"the worker did not get ready:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the worker and its pool children, as a crash would."""

        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:

        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def celery_worker_factory(transactional_db, redis_server, settings, tmp_path):
    """Start real Celery workers that see this test's database, Redis and media."""
    import redis as redis_lib

    from emomusic_site.health import redis_client

    # Leftover messages from an earlier run would otherwise reach this worker.
    with contextlib.suppress(redis_lib.RedisError):
        redis_client(timeout_seconds=2).flushdb()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "emomusic_site.settings",
        "DJANGO_ENV": "test",
        "DATABASE_URL": _database_url_for_other_processes(),
        "REDIS_URL": settings.REDIS_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    workers: list[CeleryWorker] = []

    def start(**env_overrides: str) -> CeleryWorker:
        worker = CeleryWorker(env={**env, **env_overrides}, log_path=tmp_path / f"worker-{len(workers)}.log")
        workers.append(worker)
        worker.start()
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def broker_url() -> Iterator:
    """Point the Celery app at another broker for one test (a dead socket, a live test Redis)."""
    original = celery_app.conf.broker_url

    def point_at(url: str) -> None:
        celery_app.conf.broker_url = url
        # The producer pool was built for the old URL; drop it so the next
        # publish connects to the new one.
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    yield point_at
    point_at(original)
