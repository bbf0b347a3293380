"""A real Celery worker, on a real Redis, runs the work the web side queued."""

import contextlib
import json
import os
import time
from collections.abc import Iterator

import psutil
import pytest
from django.conf import settings
from django.db import transaction

from detection.models import Detection, DetectionStatus
from tests.conftest import upload_face, wait_for, wait_for_end

pytestmark = pytest.mark.integration


def shipped_model_version() -> str:
    card = settings.EMOTION_MODEL_PATH.with_name("model_card.json")
    return json.loads(card.read_text())["version"]


def test_an_uploaded_selfie_is_analysed_by_the_worker(celery_worker_factory, api_client, user, moods):
    worker = celery_worker_factory()

    detection_id = upload_face(api_client).pk

    wait_for_end(detection_id, timeout_seconds=120, what="the worker to finish the detection", worker=worker)
    response = api_client.get(f"/api/detections/{detection_id}/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "done", body
    assert list(body["probabilities"]) == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert sum(body["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
    assert body["emotion"] == max(body["probabilities"], key=body["probabilities"].get)
    assert body["faces"] and len(body["faces"][0]["box"]) == 4
    assert body["model_version"] == shipped_model_version()
    assert body["mood"] is not None
    detection = Detection.objects.get(pk=detection_id)
    assert detection.started is not None and detection.finished >= detection.started
    assert "Loaded emotion model" in worker.log()


@contextlib.contextmanager
def photo_held(detection_id: int) -> Iterator[None]:
    """Hold the photo's row: a worker that takes its message blocks starting it (detection_start locks the row),
    so it is still holding the message, unfinished, when the test kills it, however fast the analysis is."""
    with transaction.atomic():
        Detection.objects.select_for_update().get(pk=detection_id)
        yield


def test_a_worker_killed_mid_task_loses_nothing(celery_worker_factory, api_client, user):
    """acks_late: the photo a dead worker held goes to the next worker and completes."""
    detection_id = upload_face(api_client).pk  # queued before any worker runs
    with photo_held(detection_id):
        first = celery_worker_factory(CELERY_VISIBILITY_TIMEOUT="5")
        wait_for(
            lambda: "detection.process" in first.log() and "received" in first.log(),
            timeout_seconds=60,
            what="the task",
            worker=first,
        )
        first.kill()
    assert Detection.objects.get(pk=detection_id).status == DetectionStatus.QUEUED

    second = celery_worker_factory(CELERY_VISIBILITY_TIMEOUT="5")
    wait_for_end(detection_id, timeout_seconds=150, what="the second worker to finish the photo", worker=second)
    detection = Detection.objects.get(pk=detection_id)
    assert detection.status == DetectionStatus.DONE, detection.error
    assert len(detection.probabilities) == 7


def test_a_killed_pool_process_is_replaced_and_its_photo_rerun(celery_worker_factory, api_client, user):
    """task_reject_on_worker_lost: the pool child dies mid-photo, the main process requeues it."""
    import os
    import signal

    detection_id = upload_face(api_client).pk
    with photo_held(detection_id):
        worker = celery_worker_factory()
        wait_for(
            lambda: "detection.process" in worker.log() and "received" in worker.log(),
            timeout_seconds=60,
            what="the task",
            worker=worker,
        )
        time.sleep(1)  # the pool child takes the task and blocks on the held row
        children = [int(pid) for pid in os.popen(f"pgrep -P {worker.process.pid}").read().split()]  # noqa: S605
        for pid in children:
            os.kill(pid, signal.SIGKILL)

    detection = wait_for_end(detection_id, timeout_seconds=150, what="the photo to be analysed again", worker=worker)
    assert detection.status == DetectionStatus.DONE
    assert "WorkerLostError" in worker.log()  # the child died holding the photo, and the photo ran again


def test_the_worker_and_its_pool_run_below_the_web_processes_priority(celery_worker_factory):
    """Where the web and the worker share cores, a poll or a page must not wait behind a photo
    (settings.WORKER_NICENESS)."""
    worker = celery_worker_factory()
    main = psutil.Process(worker.process.pid)
    pool = main.children()
    ours = os.nice(0)

    assert main.nice() == min(19, ours + settings.WORKER_NICENESS)
    assert pool and all(child.nice() == main.nice() for child in pool)
