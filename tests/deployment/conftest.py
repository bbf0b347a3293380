"""Fixtures for the deployment tests: a real S3 server (SeaweedFS) and the site's storage pointed at it."""

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from botocore.exceptions import ClientError
from django.conf import settings as django_settings

from devserver import embedded_s3

SETTINGS_FILE = Path(django_settings.BASE_DIR) / "emomusic_site" / "settings.py"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[embedded_s3.S3Server]:
    """SeaweedFS with its S3 gateway on free loopback ports, one bucket, anonymous access refused."""
    try:
        server = embedded_s3.start(data_dir=tmp_path_factory.mktemp("s3"))
    except embedded_s3.S3Unavailable as exc:
        pytest.skip(f"SeaweedFS's S3 server could not start here: {exc}")
    yield server
    server.stop()


def default_storage_from(variables: dict[str, str]) -> dict:
    """STORAGES["default"] exactly as emomusic_site/settings.py builds it from these variables."""
    spec = importlib.util.spec_from_file_location("emomusic_settings_for_storage", SETTINGS_FILE)
    module = importlib.util.module_from_spec(spec)
    with mock.patch.dict(os.environ, variables):
        spec.loader.exec_module(module)
    return module.STORAGES["default"]


@pytest.fixture
def s3_storage(s3_server, settings, monkeypatch) -> embedded_s3.S3Server:
    """This process stores photos in the S3 server, configured as production is: by the AWS_* variables."""
    variables = s3_server.env()
    for name, value in variables.items():
        # boto3 reads the keys from the environment, as on a production host.
        monkeypatch.setenv(name, value)
    storage = default_storage_from(variables)
    assert storage["BACKEND"] == "emomusic_site.storage.S3PhotoStorage"
    settings.STORAGES = {**settings.STORAGES, "default": storage}
    return s3_server


def object_exists(server: embedded_s3.S3Server, key: str) -> bool:
    """Ask the S3 server itself, not the site."""
    try:
        server.client().head_object(Bucket=server.bucket, Key=key)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
            return False
        raise
    return True


def object_bytes(server: embedded_s3.S3Server, key: str) -> bytes:
    return server.client().get_object(Bucket=server.bucket, Key=key)["Body"].read()
