"""The photo storage down, at the storage boundary, as the site's S3 backend reports it.

emomusic_site.storage.S3PhotoStorage turns an unreachable or failing S3
service into ConnectionError and a refusal (wrong keys, no bucket) into
OSError. This storage raises the same from every operation, over the same
folder the working storage used, so the photos stored before the outage are
still there when it ends. tests/deployment/test_s3_storage.py repeats the
main cases against a real S3 server whose endpoint stops answering.
"""

from django.core.files.storage import FileSystemStorage

FAILURES = {
    "unreachable": ConnectionError("the S3 service could not be reached for {name}"),
    "refused": OSError("the S3 service refused a request for {name}: AccessDenied"),
}


class DownStorage(FileSystemStorage):
    """FileSystemStorage whose every call fails once `deletes_before_outage` deletes have gone through."""

    def __init__(self, *, failure: str = "unreachable", deletes_before_outage: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.failure = FAILURES[failure]
        self.deletes_left = deletes_before_outage

    def _fail(self, name: str) -> None:
        raise type(self.failure)(str(self.failure).format(name=name))

    def _open(self, name, mode="rb"):
        self._fail(name)

    def _save(self, name, content):
        self._fail(name)

    def exists(self, name) -> bool:
        self._fail(name)

    def size(self, name) -> int:
        self._fail(name)

    def delete(self, name) -> None:
        if self.deletes_left > 0:
            self.deletes_left -= 1
            return super().delete(name)
        self._fail(name)
