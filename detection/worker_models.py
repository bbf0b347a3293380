"""The emotion model and the face detector, loaded once per worker process.

Only the Celery worker calls into this module's loaders; the web process
imports it (through detection.tasks) without loading anything, so neither the
face detectors nor the emotion net load there (and nothing here imports
TensorFlow: the net runs on LiteRT). Loading happens when a worker process starts
(`worker_process_init`) so that the first photo does not pay for it, and
otherwise on first use (the solo pool and eager tests).
"""

import logging
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from celery.signals import worker_process_init
from django.conf import settings

logger = logging.getLogger(__name__)

_lock = threading.Lock()
# What each loader made, by name: made once per process, under the lock (a load takes seconds, and the
# worker's threads may ask at the same time).
_loaded: dict[str, Any] = {}


def _load_once(name: str, load: Callable[[], tuple[Any, str]]) -> Any:
    """What `load` returns first (the thing and what to call it in the log), kept for the process."""
    if name not in _loaded:
        with _lock:
            if name not in _loaded:
                started = time.perf_counter()
                thing, description = load()
                logger.info("Loaded %s in %.2f s", description, time.perf_counter() - started)
                _loaded[name] = thing
    return _loaded[name]


def _load_classifier() -> tuple[Any, str]:
    from ml.runtime.inference import EmotionClassifier

    classifier = EmotionClassifier.load(settings.EMOTION_MODEL_PATH)
    return classifier, f"emotion model {classifier.version} from {settings.EMOTION_MODEL_PATH}"


def _load_face_finder() -> tuple[ModuleType, str]:
    from ml.runtime import faces

    faces.load()
    return faces, "the face detector"


def classifier() -> Any:
    """The process's EmotionClassifier, loaded on first call."""
    return _load_once("classifier", _load_classifier)


def face_finder() -> ModuleType:
    """The face detection module (`detect`, `crop`), its detectors built on first call."""
    return _load_once("face_finder", _load_face_finder)


@worker_process_init.connect
def _load_in_new_worker_process(**kwargs: Any) -> None:
    try:
        face_finder()
        classifier()
    except Exception:
        # The task reports the problem on the detection itself; a worker that
        # refused to start would leave every photo queued instead.
        logger.exception("Could not load the emotion model at worker start")
