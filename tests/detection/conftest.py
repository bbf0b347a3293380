from collections.abc import Iterator

import pytest

from emomusic_site.celery import app as celery_app


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
