"""Health checks for /healthz. None of them imports TensorFlow."""

import json
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"
        return f"down: {exc.__class__.__name__}"
    return "ok"


def broker_status() -> str:
    try:
        client = redis_client(timeout_seconds=1.0)
        client.ping()
    except Exception as exc:
        return f"down: {exc.__class__.__name__}"
    return "ok"


def redis_client(*, timeout_seconds: float) -> "redis.Redis":
    url = settings.REDIS_URL
    if url.startswith("redis+socket://"):
        return redis.Redis(
            unix_socket_path=url.removeprefix("redis+socket://").split("?")[0],
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
        )
    return redis.Redis.from_url(url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds)


def model_version() -> str:
    """The shipped model's version, read from the model card beside it."""
    card = Path(settings.EMOTION_MODEL_PATH).with_name("model_card.json")
    try:
        return str(json.loads(card.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "none"
