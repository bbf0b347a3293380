"""Photo storage: on a filesystem, never a partial file; in S3, failures that read like a filesystem's.

Django's FileSystemStorage writes a file under its final name, so a write that
fails half-way (a full disk) leaves a truncated photo that no row points to.
`PhotoFileSystemStorage` writes under a temporary name beside it and links the
finished file to its name; a failed write removes the temporary file.


django-storages lets botocore's and boto3's own exceptions out when the S3
service cannot be reached or refuses a request. The code that stores and
reads photos handles what a filesystem raises: OSError (the upload answers
503 and keeps nothing), and the builtin ConnectionError and TimeoutError for
what a later attempt may not meet (the worker retries; detection.tasks).
This backend translates at that boundary, so both behave the same whichever
storage is configured:

- the object is missing: FileNotFoundError (as django-storages already does on open);
- the service unreachable, too slow, or answering 5xx: ConnectionError;
- anything else it refuses (wrong keys, no such bucket, access denied): OSError.
"""

import logging
import os
import posixpath
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from django.core.files import File
from django.core.files.storage import FileSystemStorage
from s3transfer.exceptions import RetriesExceededError
from storages.backends.s3 import S3File, S3Storage
from storages.utils import clean_name

logger = logging.getLogger(__name__)


class PhotoFileSystemStorage(FileSystemStorage):
    """FileSystemStorage whose files appear under their names only once written whole."""

    def _save(self, name: str, content) -> str:
        directory = posixpath.dirname(name)
        # A name no other file has, and that no upload name can take (they are hex).
        partial = posixpath.join(directory, f".{uuid.uuid4().hex}.partial")
        try:
            partial = super()._save(partial, content)
        except BaseException:
            self._remove_partial(partial)
            raise
        try:
            while True:
                try:
                    # A link fails rather than replace a file already under the name.
                    os.link(self.path(partial), self.path(name))
                    break
                except FileExistsError:
                    name = self.get_available_name(name)
        finally:
            self._remove_partial(partial)
        return name.replace("\\", "/")

    def _remove_partial(self, name: str) -> None:
        try:
            os.remove(self.path(name))
        except FileNotFoundError:
            pass
        except OSError as exc:
            logger.error("Could not remove the partly written file %s: %s", name, exc)


def _status_of(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


@contextmanager
def s3_errors_as_os_errors(name: str) -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        status = _status_of(exc)
        if status == 404:
            raise FileNotFoundError(f"{name} does not exist in the bucket") from exc
        if status >= 500:
            raise ConnectionError(f"the S3 service failed on {name}: {exc}") from exc
        raise OSError(f"the S3 service refused a request for {name}: {exc}") from exc
    except (BotoConnectionError, HTTPClientError, RetriesExceededError) as exc:
        raise ConnectionError(f"the S3 service could not be reached for {name}: {exc}") from exc
    except (BotoCoreError, Boto3Error) as exc:
        raise OSError(f"S3 request for {name} failed: {exc}") from exc


class S3PhotoStorage(S3Storage):
    """django-storages' S3Storage, its service errors translated (see the module's docstring)."""

    def _open(self, name: str, mode: str = "rb") -> File | S3File:
        if mode == "rb":
            return self._download(name)
        with s3_errors_as_os_errors(name):
            opened = super()._open(name, mode)
            if "r" in mode:
                # Download now, inside the translation, rather than on the first read() somewhere else.
                opened.file  # noqa: B018
            return opened

    def _download(self, name: str) -> File:
        """The object read whole with one GET. django-storages' S3File sends a HEAD first, and its download a
        HEAD of its own before the GET, each through a boto3 resource built for the one object: a photo
        read that way cost the worker three requests and a tenth of its CPU a photo."""
        key = self._normalize_name(clean_name(name))
        spooled = tempfile.SpooledTemporaryFile(max_size=self.max_memory_size, suffix=".S3File")  # noqa: SIM115 - the caller closes it
        try:
            with s3_errors_as_os_errors(name):
                body = self.connection.meta.client.get_object(Bucket=self.bucket_name, Key=key)["Body"]
                for chunk in body.iter_chunks(chunk_size=256 * 1024):
                    spooled.write(chunk)
        except BaseException:
            spooled.close()
            raise
        spooled.seek(0)
        return File(spooled, name=name)

    def _save(self, name: str, content) -> str:
        with s3_errors_as_os_errors(name):
            return super()._save(name, content)

    def delete(self, name: str) -> None:
        with s3_errors_as_os_errors(name):
            super().delete(name)

    def listdir(self, name: str) -> tuple[list[str], list[str]]:
        with s3_errors_as_os_errors(name):
            return super().listdir(name)

    def exists(self, name: str) -> bool:
        with s3_errors_as_os_errors(name):
            return super().exists(name)

    def size(self, name: str) -> int:
        with s3_errors_as_os_errors(name):
            return super().size(name)
