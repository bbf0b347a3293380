"""The Celery application. Broker and result backend come from REDIS_URL."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emomusic_site.settings")

app = Celery("emomusic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def worker_priority_lower(**_signal) -> None:
    """Lower the worker's CPU priority before its pool forks, so every pool process inherits it
    (settings.WORKER_NICENESS says why)."""
    from django.conf import settings

    if settings.WORKER_NICENESS:
        os.nice(settings.WORKER_NICENESS)
