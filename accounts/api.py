"""The accounts API: sign-up, the token and the password, for API clients.

The signed-in user's own account (/api/me/) is served by recommendations.api: deleting it deletes
the photos, and its export holds detections and ratings.
"""

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from emomusic_site.ratelimit import client_address

TOO_MANY_ATTEMPTS = OpenApiResponse(
    description='Too many attempts: {"detail": "Too many attempts. Try again in N seconds."}, with Retry-After.'
)
BAD_REQUEST = OpenApiResponse(description='Invalid input: {"field": ["a sentence saying what is wrong"]}.')
NOT_AUTHENTICATED = OpenApiResponse(description='No valid token or session: {"detail": "..."}.')
VALIDATORS_SAY = (
    "At least 8 characters that are not spaces, not all digits, not a common password and not like the "
    "username or email (Django's password validators, which answer 400 with their own sentences)."
)


# The schema states the length Django's MinimumLengthValidator asks for; the field itself leaves the check to
# the validators, so that a short password gets their sentence along with any other they have.
@extend_schema_field({"type": "string", "minLength": 8, "maxLength": 4096, "description": VALIDATORS_SAY})
class NewPasswordField(serializers.CharField):
    def __init__(self, **kwargs) -> None:
        super().__init__(max_length=4096, trim_whitespace=False, write_only=True, **kwargs)


class SignupInputSerializer(serializers.Serializer):
    username = serializers.CharField(
        max_length=150,
        min_length=1,
        trim_whitespace=True,
        help_text="Letters, digits and @.+-_ from one alphabet; a name already taken answers 400.",
    )
    password = NewPasswordField()
    email = serializers.EmailField(required=False, allow_blank=True, default="")


class SignupOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    token = serializers.CharField()


class TokenInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, min_length=1)
    password = serializers.CharField(max_length=4096, min_length=1, trim_whitespace=False, write_only=True)


class SignupApi(APIView):
    # No session authentication here: an API client has no CSRF token, and a
    # sign-up needs no identity anyway.
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=SignupInputSerializer,
        responses={
            201: SignupOutputSerializer,
            400: OpenApiResponse(
                description="A name already taken or mixing alphabets, a password the validators refuse, "
                "or a malformed email: {field: [sentence]}."
            ),
            429: TOO_MANY_ATTEMPTS,
        },
    )
    def post(self, request: Request) -> Response:
        services.signup_attempt_record(address=client_address(request))
        data = SignupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_create(**data.validated_data)
        token = services.auth_token_get_or_create(user=user)
        body = SignupOutputSerializer({"id": user.pk, "username": user.username, "token": token}).data
        return Response(body, status=status.HTTP_201_CREATED)


class PasswordChangeInputSerializer(serializers.Serializer):
    old_password = serializers.CharField(max_length=4096, min_length=1, trim_whitespace=False, write_only=True)
    new_password = NewPasswordField()


TOKEN_OUTPUT = inline_serializer("TokenOutput", fields={"token": serializers.CharField()})


class TokenApi(APIView):
    """POST trades a username and password for the token (anyone); DELETE revokes the token used (its holder)."""

    def _is_sign_in(self) -> bool:
        # The schema generator asks with no request; it then sees each method's own request below.
        return getattr(getattr(self, "request", None), "method", None) == "POST"

    def get_authenticators(self):
        # A sign-in needs no identity (and an API client has no CSRF token); a revocation needs the token.
        if self._is_sign_in():
            return []
        return super().get_authenticators()

    def get_permissions(self):
        if self._is_sign_in():
            return [AllowAny()]
        return [IsAuthenticated()]

    @extend_schema(
        request=TokenInputSerializer,
        responses={200: TOKEN_OUTPUT, 400: BAD_REQUEST, 429: TOO_MANY_ATTEMPTS},
    )
    def post(self, request: Request) -> Response:
        data = TokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        address = client_address(request)
        username = selectors.username_as_stored(username=data.validated_data["username"])
        services.login_attempt_record(username=username, address=address)
        # A failure is counted by the user_login_failed signal (accounts.signals).
        user = authenticate(request, username=username, password=data.validated_data["password"])
        if user is None:
            raise serializers.ValidationError(
                {"non_field_errors": ["That username and password do not match an account."]}
            )
        services.login_success_record(username=username, address=address)
        return Response({"token": services.auth_token_get_or_create(user=user)})

    @extend_schema(
        request=None,
        responses={204: None, 401: NOT_AUTHENTICATED},
        description="Revoke the token that made the request (with a session: the user's token). "
        "It answers 401 from then on; POST gives a new one.",
    )
    def delete(self, request: Request) -> Response:
        services.auth_tokens_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=PasswordChangeInputSerializer,
        responses={200: TOKEN_OUTPUT, 400: BAD_REQUEST, 401: NOT_AUTHENTICATED, 429: TOO_MANY_ATTEMPTS},
        description="Change the password. Every earlier token of the user stops working; the answer holds a new one.",
    )
    def post(self, request: Request) -> Response:
        data = PasswordChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # A stolen token must not become a way to guess the password: the old one is checked as a log-in.
        token = services.user_password_change(user=request.user, address=client_address(request), **data.validated_data)
        return Response({"token": token})
