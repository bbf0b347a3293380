"""Health checks for /healthz. None of them imports TensorFlow."""

import json
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection
from redis.backoff import NoBackoff
from redis.retry import Retry


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"
        return f"down: {exc.__class__.__name__}"
    return "ok"


# A probe must hear "down" within about a second, even from a Redis that accepts
# connections and never answers (frozen): one try, half a second each way.
BROKER_TIMEOUT_SECONDS = 0.5


def broker_status() -> str:
    try:
        client = redis_client(timeout_seconds=BROKER_TIMEOUT_SECONDS)
        client.ping()
    except Exception as exc:
        return f"down: {exc.__class__.__name__}"
    return "ok"


def redis_client(*, timeout_seconds: float, retries: int = 0) -> "redis.Redis":
    """A client that gives up after timeout_seconds (redis-py otherwise retries three times with back-off)."""
    url = settings.REDIS_URL
    options = {
        "socket_timeout": timeout_seconds,
        "socket_connect_timeout": timeout_seconds,
        "retry": Retry(NoBackoff(), retries),
    }
    if url.startswith("redis+socket://"):
        return redis.Redis(unix_socket_path=url.removeprefix("redis+socket://").split("?")[0], **options)
    return redis.Redis.from_url(url, **options)


def model_version() -> str:
    """The shipped model's version, read from the model card beside it."""
    card = Path(settings.EMOTION_MODEL_PATH).with_name("model_card.json")
    try:
        return str(json.loads(card.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "none"
