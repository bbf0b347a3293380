"""Fixtures every test package shares: users, API clients, media, Redis."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import UserFactory

FIXTURES_DIR = Path(__file__).parent / "fixtures"
FACES_DIR = FIXTURES_DIR / "faces"
FER_FIXTURE_DIR = FIXTURES_DIR / "fer2013"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A real Redis: the one in REDIS_URL, else the embedded one on the test socket."""
    if os.environ.get("REDIS_URL"):
        yield settings.REDIS_URL
        return
    from emomusic_site import embedded_redis

    process = embedded_redis.start(socket_path=settings.REDIS_SOCKET, data_dir=settings.VAR_DIR / "redis-test")
    try:
        yield settings.REDIS_URL
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(autouse=True)
def _private_media_root(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


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
