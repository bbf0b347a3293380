"""The OpenAPI schema's view class: drf-spectacular's, plus the error answers every view of a kind gives.

Its own module, not emomusic_site.api: drf-spectacular imports DRF's settings, which import the parsers
in emomusic_site.api.
"""

from drf_spectacular import openapi
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication


class ErrorOutputSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="A sentence saying what went wrong and what to do.")


BODY_METHODS = {"POST", "PUT", "PATCH"}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, plus the answers DRF and this site give every view of a kind.

    Each view declares its own answers with extend_schema (409, 429, 503, ...); added here, where a
    view has not declared them: 400 for a body that fails validation, 401 without a valid token or
    session, 403 for a session request without its CSRF token, 404 for an id in the path or a page
    past the end, 413 and 415 for a body too large or of another type. Every error answer gets its
    body: DRF's {"field": ["message"]} (an object) for a 400, {"detail": "message"} for the others.
    """

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, description in self._common_error_answers().items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(description=description), code, direction=direction
                )
        return responses

    def _get_response_for_code(self, serializer, status_code, media_types=None, direction="response"):
        if str(status_code) >= "400" and isinstance(serializer, OpenApiResponse) and serializer.response is None:
            body = OpenApiTypes.OBJECT if str(status_code) == "400" else ErrorOutputSerializer
            serializer = OpenApiResponse(
                response=body, description=serializer.description, examples=serializer.examples
            )
        return super()._get_response_for_code(serializer, status_code, media_types, direction)

    def _common_error_answers(self) -> dict[str, str]:
        answers = {}
        has_body = self.method in BODY_METHODS
        if has_body:
            answers["400"] = 'Invalid input: {"field": ["a sentence saying what is wrong"]}, or {"detail": ...}.'
        if {} not in self.get_auth():
            answers["401"] = "No valid token or session."
            if has_body and any(isinstance(auth, SessionAuthentication) for auth in self.view.get_authenticators()):
                answers["403"] = "A session request without its CSRF token (token clients never see this)."
        if "{" in self.path:
            answers["404"] = "No such object of yours."
        elif self.method == "GET" and self._is_list_view() and self._get_paginator():
            answers["404"] = 'A page past the last one: {"detail": "Invalid page."}.'
        if has_body:
            answers["413"] = "The body is over 2.5 MB."
            answers["415"] = "A body of a content type the operation does not take."
        return answers
