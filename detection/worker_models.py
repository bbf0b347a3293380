"""The emotion model and the face detector, loaded once per worker process.

Only the Celery worker calls into this module's loaders; the web process
imports it (through detection.tasks) without loading anything, so TensorFlow
never enters the web process. Loading happens when a worker process starts
(`worker_process_init`) so that the first photo does not pay for it, and
otherwise on first use (the solo pool and eager tests).
"""

import logging
import threading
import time
from types import ModuleType
from typing import Any

from celery.signals import worker_process_init
from django.conf import settings

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_classifier: Any = None
_face_finder: ModuleType | None = None


def classifier() -> Any:
    """The process's EmotionClassifier, loaded on first call."""
    global _classifier
    if _classifier is None:
        with _lock:
            if _classifier is None:
                started = time.perf_counter()
                from ml.inference import EmotionClassifier

                loaded = EmotionClassifier.load(settings.EMOTION_MODEL_PATH)
                logger.info(
                    "Loaded emotion model %s from %s in %.2f s",
                    loaded.version,
                    settings.EMOTION_MODEL_PATH,
                    time.perf_counter() - started,
                )
                _classifier = loaded
    return _classifier


def face_finder() -> ModuleType:
    """The face detection module (`detect`, `crop`), its detectors built on first call."""
    global _face_finder
    if _face_finder is None:
        with _lock:
            if _face_finder is None:
                started = time.perf_counter()
                from ml import faces

                faces.load()
                logger.info("Loaded the face detector in %.2f s", time.perf_counter() - started)
                _face_finder = faces
    return _face_finder


@worker_process_init.connect
def _load_in_new_worker_process(**kwargs: Any) -> None:
    try:
        face_finder()
        classifier()
    except Exception:
        # The task reports the problem on the detection itself; a worker that
        # refused to start would leave every photo queued instead.
        logger.exception("Could not load the emotion model at worker start")
