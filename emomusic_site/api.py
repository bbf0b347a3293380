"""Project-wide API plumbing shared by every app's api.py."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, parsers, serializers
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from emomusic_site.errors import DomainError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The API's answer to every error a view raises: DRF's own, plus the domain errors (emomusic_site.errors).

    A domain error answers its status with {"detail": its sentence} and its headers (Retry-After for
    a rate limit). Services validate with Django's ValidationError, so that they work the same from
    the API, the web forms and management commands: it answers 400 with {"field": ["sentence"]}.
    """
    if isinstance(exc, DomainError):
        set_rollback()
        return Response({"detail": str(exc)}, status=exc.status, headers=exc.headers)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    return drf_exception_handler(exc, context)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, answering 400 to a body nested too deeply for Python's decoder.

    `[[[[...]]]]` a few thousand levels deep makes json.loads raise
    RecursionError, which DRF's parser does not catch (a 500 before).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - the body is nested too deeply.") from None


MAX_ID = 2**63 - 1


class IdRelatedField(serializers.PrimaryKeyRelatedField):
    """A related object by its id, taking only whole numbers.

    DRF's field hands any JSON number to the database lookup: 1e999 (infinity)
    raised OverflowError there (a 500) and 1.5 found object 1.
    """

    def to_internal_value(self, data):
        if isinstance(data, str) and data.strip().isdigit():
            data = int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 1 <= data <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false: JSON's booleans, or those words in a form or a query string.

    DRF's BooleanField also takes 1, 0, "yes", "on" and more, which the schema's `boolean` does not
    allow; a client sending them gets a 400 saying what to send instead.
    """

    default_error_messages = {"invalid": "Give true or false."}
    # A form without the field leaves the value alone (DRF reads a missing checkbox as false).
    default_empty_html = serializers.empty

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        if isinstance(data, str) and data.lower() in ("true", "false"):
            return data.lower() == "true"
        self.fail("invalid")
