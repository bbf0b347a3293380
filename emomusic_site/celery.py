"""The Celery application. Broker and result backend come from REDIS_URL."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emomusic_site.settings")

app = Celery("emomusic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
