"""Fixtures every test package shares: users, API clients, media, Redis."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog import schema as song_schema
from emomusic_site.celery import app as celery_app
from tests.factories import UserFactory

FIXTURES_DIR = Path(__file__).parent / "fixtures"
FACES_DIR = FIXTURES_DIR / "faces"
FER_FIXTURE_DIR = FIXTURES_DIR / "fer2013"

# The Song object of the API contract: the schema's fields and the labels
# (tests/catalog/test_schema.py holds the schema to the contract's names).
SONG_FIELDS = {"id", *song_schema.SONG_FIELDS, "mood", "genre", "spotify_url"}


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
    from emomusic_site import embedded_redis

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
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def staff_user(db):
    return UserFactory(is_staff=True, is_superuser=True)


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


class CeleryWorker:
    """A real `celery worker` process on the test database and the test Redis."""

    def __init__(self, *, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, *, timeout_seconds: float = 120.0) -> None:

        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "emomusic_site",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "1",
                "--pool",
                "prefork",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"test-{time.monotonic_ns()}@%h",
            ],
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
