"""The accounts API: sign-up and token for API clients, and the signed-in user's own account (/api/me/)."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.models import PhotoRetention, Strategy
from accounts.serializers import ExportOutputSerializer
from emomusic_site.api import TooManyAttempts
from emomusic_site.ratelimit import RateLimited, client_address

TOO_MANY_ATTEMPTS = OpenApiResponse(
    description='Too many attempts: {"detail": "Too many attempts. Try again in N seconds."}, with Retry-After.'
)


class SignupInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, trim_whitespace=True)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, write_only=True)
    email = serializers.EmailField(required=False, allow_blank=True, default="")


class SignupOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    token = serializers.CharField()


class TokenInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, write_only=True)


class MeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    strategy = serializers.ChoiceField(choices=Strategy.choices)
    photo_retention = serializers.ChoiceField(choices=PhotoRetention.choices)
    share_photos_for_training = serializers.BooleanField()
    detections = serializers.IntegerField(help_text="How many detections the account holds.")
    ratings = serializers.IntegerField(help_text="How many ratings the account holds.")
    date_joined = serializers.DateTimeField()


class MeUpdateInputSerializer(serializers.Serializer):
    strategy = serializers.ChoiceField(choices=Strategy.choices, required=False)
    photo_retention = serializers.ChoiceField(choices=PhotoRetention.choices, required=False)
    share_photos_for_training = serializers.BooleanField(required=False)


class SignupApi(APIView):
    # No session authentication here: an API client has no CSRF token, and a
    # sign-up needs no identity anyway.
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=SignupInputSerializer, responses={201: SignupOutputSerializer, 429: TOO_MANY_ATTEMPTS})
    def post(self, request: Request) -> Response:
        try:
            services.signup_attempt_record(address=client_address(request))
        except RateLimited as refused:
            raise TooManyAttempts(refused) from refused
        data = SignupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_create(**data.validated_data)
        token = services.auth_token_get_or_create(user=user)
        body = SignupOutputSerializer({"id": user.pk, "username": user.username, "token": token}).data
        return Response(body, status=status.HTTP_201_CREATED)


class TokenApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=TokenInputSerializer,
        responses={
            200: inline_serializer("TokenOutput", fields={"token": serializers.CharField()}),
            429: TOO_MANY_ATTEMPTS,
        },
    )
    def post(self, request: Request) -> Response:
        data = TokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.login_attempt_record(username=data.validated_data["username"], address=client_address(request))
        except RateLimited as refused:
            raise TooManyAttempts(refused) from refused
        username = selectors.username_as_stored(username=data.validated_data["username"])
        user = authenticate(request, username=username, password=data.validated_data["password"])
        if user is None:
            raise serializers.ValidationError(
                {"non_field_errors": ["That username and password do not match an account."]}
            )
        return Response({"token": services.auth_token_get_or_create(user=user)})


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeOutputSerializer(selectors.user_summary(user=request.user)).data)

    @extend_schema(request=MeUpdateInputSerializer, responses=MeOutputSerializer)
    def patch(self, request: Request) -> Response:
        data = MeUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_update_preferences(user=request.user, **data.validated_data)
        return Response(MeOutputSerializer(selectors.user_summary(user=user)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request) -> Response:
        services.user_delete(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeExportApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=ExportOutputSerializer, description="Everything stored about you, as one JSON document.")
    def get(self, request: Request) -> Response:
        return Response(ExportOutputSerializer(selectors.user_export(user=request.user)).data)
