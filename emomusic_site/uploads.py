"""A cap on how much of an uploaded file the server keeps while it reads the request.

Django spools an upload of any size to a temporary file before a view can
look at it, so a 5 GB "photo" would fill the disk just to earn its 400. The
handler here sits first in FILE_UPLOAD_HANDLERS and stops passing a file's
bytes on once they pass UPLOAD_MAX_FILE_BYTES. The file still reaches the view,
as an `OversizedUpload` that knows its true size but holds no content, so
each form keeps its own limit and its own sentence ("This file is 5,000.0 MB,
larger than the 10 MB limit"). The cap is the largest limit any form has; the
forms refuse smaller files themselves.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler


class OversizedUpload(UploadedFile):
    """A file that was larger than the cap: its name and true size, no content."""

    def __init__(self, *, name: str, size: int, content_type: str, charset: str | None) -> None:
        super().__init__(io.BytesIO(), name=name, content_type=content_type, size=size, charset=charset)


class CappedUploadHandler(FileUploadHandler):
    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.cap: int = settings.UPLOAD_MAX_FILE_BYTES
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        # None hands the chunk to no later handler: past the cap nothing is stored.
        return raw_data if self.received <= self.cap else None

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self.received <= self.cap:
            return None  # the next handler (memory or temporary file) completes it as usual
        self._discard_partial_copies()
        return OversizedUpload(
            name=self.file_name, size=self.received, content_type=self.content_type, charset=self.charset
        )

    def _discard_partial_copies(self) -> None:
        # The handlers after this one began storing the file before it passed the cap
        # and are never asked to complete it; closing a temporary upload deletes it now
        # rather than when the request is collected.
        for handler in self.request.upload_handlers:
            partial = getattr(handler, "file", None)
            if handler is not self and partial is not None:
                partial.close()
