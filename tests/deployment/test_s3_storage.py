"""Photos in S3: the site's storage settings pointed at a real S3 server (SeaweedFS).

Whether an object exists is asked of the S3 server itself (boto3 with the
server's keys), never of the site.
"""

import html
import logging
import time
import urllib.error
import urllib.request
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from accounts.models import PhotoRetention, User
from detection import processing, tasks, worker_models
from detection.models import Detection, DetectionStatus
from detection.tasks import process_detection
from devserver.embedded_s3 import free_ports
from tests.conftest import FACES_DIR, upload_face, wait_for_end
from tests.deployment.conftest import default_storage_from, object_bytes, object_exists
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.s3


def upload_queued(api_client, capture, name: str = "happy_1.jpg") -> Detection:
    """Upload with the publish to the queue replaced (no worker in these tests)."""
    with mock.patch.object(process_detection, "apply_async") as publish, capture(execute=True):
        detection = upload_face(api_client, name)
    publish.assert_called_once_with(args=[detection.pk])
    return detection


def requests_to_the_bucket() -> list[str]:
    """The HTTP methods the site's S3 client sends from now on, in order (botocore's own event hook)."""
    from django.core.files.storage import default_storage

    sent: list[str] = []
    default_storage.connection.meta.client.meta.events.register(
        "before-send.s3", lambda request, **_: sent.append(request.method)
    )
    return sent


def test_an_upload_stores_its_photo_in_one_request_to_the_bucket(
    s3_storage, api_client, django_capture_on_commit_callbacks
):
    """The name is a fresh uuid4: no HEAD asks whether it is taken before the PUT (one request less an upload)."""
    sent = requests_to_the_bucket()

    detection = upload_queued(api_client, django_capture_on_commit_callbacks)

    assert sent == ["PUT"]
    assert object_exists(s3_storage, detection.image.name)


def test_reading_a_photo_back_is_one_request_to_the_bucket(s3_storage, api_client, django_capture_on_commit_callbacks):
    """The worker and the photo view read a photo whole with one GET (no HEAD before it)."""
    from django.core.files.storage import default_storage

    detection = upload_queued(api_client, django_capture_on_commit_callbacks)
    sent = requests_to_the_bucket()

    with default_storage.open(detection.image.name, "rb") as stored:
        content = stored.read()

    assert sent == ["GET"]
    assert content == object_bytes(s3_storage, detection.image.name)


@pytest.mark.integration
def test_a_photo_goes_to_s3_the_worker_reads_it_and_only_its_owner_sees_it(
    s3_storage, celery_worker_factory, api_client, user, other_user, media_files, client_for
):
    worker = celery_worker_factory(**s3_storage.env())

    detection = upload_face(api_client)

    key = detection.image.name
    assert key.startswith(f"photos/{user.pk}/") and key.endswith(".jpg")
    assert object_exists(s3_storage, key)
    assert media_files() == []
    wait_for_end(
        detection.pk, timeout_seconds=180, what="the worker to analyse the photo it reads from S3", worker=worker
    )
    detection.refresh_from_db()
    assert detection.status == DetectionStatus.DONE, detection.error
    assert detection.faces and len(detection.probabilities) == 7

    response = client_for(user).get(f"/detections/{detection.pk}/photo")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content) == object_bytes(s3_storage, key)
    assert client_for(other_user).get(f"/detections/{detection.pk}/photo").status_code == 404
    # Retention "24 hours" (the default) keeps it after the analysis.
    assert object_exists(s3_storage, key)


def test_objects_are_private_an_anonymous_get_is_refused(s3_storage, api_client, django_capture_on_commit_callbacks):
    detection = upload_queued(api_client, django_capture_on_commit_callbacks)
    key = detection.image.name
    assert object_exists(s3_storage, key)

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{s3_storage.endpoint_url}/{s3_storage.bucket}/{key}", timeout=10)  # noqa: S310
    assert refused.value.code == 403
    assert b"AccessDenied" in refused.value.read()
    acl = s3_storage.client().get_object_acl(Bucket=s3_storage.bucket, Key=key)
    assert {grant["Permission"] for grant in acl["Grants"]} == {"FULL_CONTROL"}
    assert all(grant["Grantee"].get("URI") is None for grant in acl["Grants"]), "no group (AllUsers) may read it"


def test_retention_deletes_the_object_after_24_hours(
    s3_storage, api_client, user, django_capture_on_commit_callbacks, client_for
):
    assert user.photo_retention == PhotoRetention.KEEP_24_HOURS
    detection = upload_queued(api_client, django_capture_on_commit_callbacks)
    key = detection.image.name

    assert processing.photos_expire(now=timezone.now() + timedelta(hours=23)).deleted == 0
    assert object_exists(s3_storage, key)
    assert processing.photos_expire(now=timezone.now() + timedelta(hours=25)).deleted == 1

    assert not object_exists(s3_storage, key)
    detection.refresh_from_db()
    assert detection.image.name == "" and detection.photo_deleted is not None
    assert client_for(user).get(f"/detections/{detection.pk}/photo").status_code == 404


def test_deleting_the_account_deletes_its_objects_and_no_one_elses(
    s3_storage, api_client, other_client, user, other_user, django_capture_on_commit_callbacks
):
    mine = [
        upload_queued(api_client, django_capture_on_commit_callbacks, name).image.name
        for name in ("happy_1.jpg", "sad_1.jpg")
    ]
    theirs = upload_queued(other_client, django_capture_on_commit_callbacks).image.name

    response = api_client.delete("/api/me/", {"password": TEST_PASSWORD}, format="json")

    assert response.status_code == 204
    assert not any(object_exists(s3_storage, key) for key in mine)
    assert object_exists(s3_storage, theirs)
    assert not Detection.objects.filter(user_id=user.pk).exists()
    assert Detection.objects.filter(user=other_user).count() == 1


def test_deleting_a_detection_deletes_its_object(
    s3_storage, api_client, other_client, django_capture_on_commit_callbacks
):
    detection = upload_queued(api_client, django_capture_on_commit_callbacks)
    key = detection.image.name

    assert other_client.delete(f"/api/detections/{detection.pk}/").status_code == 404
    assert object_exists(s3_storage, key)
    assert api_client.delete(f"/api/detections/{detection.pk}/").status_code == 204

    assert not object_exists(s3_storage, key)
    assert not Detection.objects.filter(pk=detection.pk).exists()


def test_an_object_gone_from_the_bucket_is_a_404_for_its_owner(
    s3_storage, api_client, user, django_capture_on_commit_callbacks, client_for
):
    detection = upload_queued(api_client, django_capture_on_commit_callbacks)
    s3_storage.client().delete_object(Bucket=s3_storage.bucket, Key=detection.image.name)

    response = client_for(user).get(f"/detections/{detection.pk}/photo")

    assert response.status_code == 404


def test_a_photo_gone_from_the_bucket_fails_with_a_message_after_one_request(
    s3_storage, api_client, django_capture_on_commit_callbacks
):
    """The worker reads the photo rather than asking first whether it is there: one GET, answered 404."""
    detection = upload_queued(api_client, django_capture_on_commit_callbacks)
    s3_storage.client().delete_object(Bucket=s3_storage.bucket, Key=detection.image.name)
    sent = requests_to_the_bucket()

    with (
        mock.patch.object(worker_models, "classifier") as classifier,
        mock.patch.object(worker_models, "face_finder") as face_finder,
    ):
        process_detection.apply(args=[detection.pk])

    face_finder.return_value.detect.assert_not_called()
    classifier.return_value.predict.assert_not_called()
    detection.refresh_from_db()
    assert detection.status == DetectionStatus.FAILED and detection.error == processing.PHOTO_GONE_MESSAGE
    assert sent == ["GET"]


# --- The S3 service down ------------------------------------------------------------------------


@pytest.fixture
def unreachable_s3(s3_server, settings, monkeypatch):
    """Point this process's storage at a port where nothing listens, keeping the production client settings."""

    def point() -> None:
        variables = {**s3_server.env(), "AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{free_ports(1)[0]}"}
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        settings.STORAGES = {**settings.STORAGES, "default": default_storage_from(variables)}

    return point


def test_an_upload_while_s3_is_unreachable_answers_503_quickly_and_keeps_nothing(unreachable_s3, api_client):
    unreachable_s3()
    started = time.monotonic()

    with mock.patch.object(process_detection, "apply_async") as publish, open(FACES_DIR / "happy_1.jpg", "rb") as photo:
        response = api_client.post("/api/detections/", {"image": photo}, format="multipart")

    assert response.status_code == 503
    assert "try again" in response.json()["detail"].lower()
    assert time.monotonic() - started < 20, "the client's timeouts and retries must not hold the request for long"
    assert not Detection.objects.exists()
    publish.assert_not_called()


@pytest.fixture
def refusing_s3(s3_storage, settings):
    """Keep the server but use keys it does not know: every request is refused (403), as after a key rotation."""

    def point() -> None:
        options = {**settings.STORAGES["default"]["OPTIONS"], "access_key": "nobody", "secret_key": "wrong"}
        settings.STORAGES = {**settings.STORAGES, "default": {**settings.STORAGES["default"], "OPTIONS": options}}

    return point


@pytest.mark.parametrize("outage", ["unreachable_s3", "refusing_s3"])
def test_the_photo_and_both_deletes_answer_503_while_s3_fails_and_lose_nothing(
    s3_storage, api_client, user, django_capture_on_commit_callbacks, settings, request, outage, client_for
):
    detection = upload_queued(api_client, django_capture_on_commit_callbacks)
    key = detection.image.name
    working = settings.STORAGES
    request.getfixturevalue(outage)()
    started = time.monotonic()

    photo = client_for(user).get(f"/detections/{detection.pk}/photo")
    detection_deleted = api_client.delete(f"/api/detections/{detection.pk}/")
    account_deleted = api_client.delete("/api/me/", {"password": TEST_PASSWORD}, format="json")

    assert time.monotonic() - started < 60, "the client's timeouts and retries must not hold the requests for long"
    assert photo.status_code == 503
    assert "We can't load photos right now. Please try again later." in html.unescape(photo.content.decode())
    assert detection_deleted.status_code == 503
    assert detection_deleted.json()["detail"].startswith("We can't delete photos right now, so nothing was deleted")
    assert account_deleted.status_code == 503
    assert account_deleted.json()["detail"].startswith("We can't delete photos right now, so your account was not")
    assert object_exists(s3_storage, key), "the server itself still holds the photo"
    detection.refresh_from_db()
    assert detection.image.name == key and detection.photo_deleted is None
    assert User.objects.filter(pk=user.pk).exists()

    # S3 answers again: the same request deletes the photo, the result, then the account.
    settings.STORAGES = working
    assert api_client.delete(f"/api/detections/{detection.pk}/").status_code == 204
    assert not object_exists(s3_storage, key)
    assert api_client.delete("/api/me/", {"password": TEST_PASSWORD}, format="json").status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()


def test_the_worker_retries_a_photo_while_s3_is_unreachable(
    s3_storage, unreachable_s3, api_client, django_capture_on_commit_callbacks, caplog
):
    detection = upload_queued(api_client, django_capture_on_commit_callbacks)
    unreachable_s3()

    # The model is never reached (the photo cannot be read), so it is not loaded into this process.
    with (
        caplog.at_level(logging.WARNING, logger="detection.tasks"),
        mock.patch.object(worker_models, "classifier") as classifier,
        mock.patch.object(worker_models, "face_finder") as face_finder,
    ):
        # Eagerly, each retry runs at once; a worker waits 5, 10 and 20 s between them.
        process_detection.apply(args=[detection.pk])

    classifier.return_value.predict.assert_not_called()
    face_finder.return_value.detect.assert_not_called()

    detection.refresh_from_db()
    assert detection.attempts == tasks.MAX_RETRIES + 1, "a storage outage is transient: it must be retried"
    assert detection.status == DetectionStatus.FAILED and detection.error == tasks.FAILED_MESSAGE
    assert caplog.text.count("transient error, retrying") == tasks.MAX_RETRIES
    assert object_exists(s3_storage, detection.image.name), "a failed read deletes nothing"


def test_a_missing_object_reads_as_a_missing_file_and_wrong_keys_as_a_refusal(s3_storage, settings):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage, storages

    name = default_storage.save("photos/probe/one.jpg", ContentFile(b"jpeg bytes"))
    assert default_storage.exists(name) and object_exists(s3_storage, name)
    with default_storage.open(name, "rb") as stored:
        assert stored.read() == b"jpeg bytes"
    with pytest.raises(FileNotFoundError):
        default_storage.open("photos/probe/none.jpg", "rb")

    wrong_keys = storages.create_storage(
        {
            **settings.STORAGES["default"],
            "OPTIONS": {**settings.STORAGES["default"]["OPTIONS"], "access_key": "nobody", "secret_key": "wrong"},
        }
    )
    with pytest.raises(OSError) as refused:
        wrong_keys.exists(name)
    assert not isinstance(refused.value, ConnectionError), "a refusal is not worth retrying"
    default_storage.delete(name)
    assert not object_exists(s3_storage, name)
