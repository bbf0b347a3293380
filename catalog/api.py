"""The catalog's REST API: plain CRUD over songs, so one ViewSet (reads for everyone signed in, writes for staff)."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import selectors, services
from catalog.models import Song
from catalog.schema import AUDIO_FEATURES, SONG_FIELDS


class SongOutputSerializer(serializers.ModelSerializer):
    mood = serializers.CharField(source="mood.name", default=None, allow_null=True, read_only=True)
    spotify_url = serializers.CharField(read_only=True)

    class Meta:
        model = Song
        fields = ("id", *SONG_FIELDS, "mood", "genre", "subgenre", "spotify_url")
        read_only_fields = fields


def _model_range(name: str) -> dict[str, float]:
    """The model field's own bounds (its validators and its column's), so that the API's schema states them."""
    bounds: dict[str, float] = {}
    for validator in Song._meta.get_field(name).validators:
        if isinstance(validator, MinValueValidator):
            bounds["min_value"] = max(bounds.get("min_value", validator.limit_value), validator.limit_value)
        elif isinstance(validator, MaxValueValidator):
            bounds["max_value"] = min(bounds.get("max_value", validator.limit_value), validator.limit_value)
    return bounds


class SongInputSerializer(serializers.Serializer):
    """Types and the model's ranges (stated in the schema); formats, moods and uniqueness are the service's
    (the importer's rules)."""

    spotify_id = serializers.CharField(max_length=64, min_length=1)
    name = serializers.CharField(max_length=300, min_length=1)
    album = serializers.CharField(max_length=300, allow_blank=True, required=False)
    artist = serializers.CharField(max_length=300, allow_blank=True, required=False)
    release_date = serializers.RegexField(
        r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$",
        max_length=10,
        allow_blank=True,
        required=False,
        help_text="YYYY-MM-DD, YYYY-MM or YYYY, a real date.",
        error_messages={
            "invalid": "Enter the release date as YYYY-MM-DD, YYYY-MM or YYYY "
            "(for example 1982-10-27, 1966-03 or 1993)."
        },
    )
    popularity = serializers.IntegerField(**_model_range("popularity"))
    length_ms = serializers.IntegerField(**_model_range("length_ms"))
    key = serializers.IntegerField(**_model_range("key"))
    time_signature = serializers.IntegerField(
        **_model_range("time_signature"), allow_null=True, required=False, help_text="Beats per bar; null: unknown."
    )
    mood = serializers.CharField(
        max_length=40, allow_null=True, allow_blank=True, required=False, help_text="The name of an existing mood."
    )
    genre = serializers.CharField(max_length=100, allow_blank=True, required=False)
    subgenre = serializers.CharField(max_length=100, allow_blank=True, required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        # A number for each of the schema's audio features, in the model's range.
        return {
            **super().get_fields(),
            **{name: serializers.FloatField(**_model_range(name)) for name in AUDIO_FEATURES},
        }


class IsStaffOrReadOnly(permissions.BasePermission):
    message = "Only staff can change the catalog."

    def has_permission(self, request: Request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or bool(request.user and request.user.is_staff)


_STAFF_ONLY = OpenApiResponse(description="Only staff can change the catalog.")
_SONG_WRITE_ERRORS = {
    400: OpenApiResponse(
        description="A value the importer's rules refuse: a Spotify id already in the catalog, a date that does "
        "not exist, a mood that does not: {field: [sentence]}."
    ),
    403: _STAFF_ONLY,
}


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("search", str, description="Words in the song's name, artist or album."),
            OpenApiParameter("mood", str, description="A mood name, in any case (Happy, sad, ...)."),
            OpenApiParameter("genre", str, description="A genre name, in any case."),
        ]
    ),
    create=extend_schema(request=SongInputSerializer, responses={201: SongOutputSerializer, **_SONG_WRITE_ERRORS}),
    partial_update=extend_schema(
        request=SongInputSerializer, responses={200: SongOutputSerializer, **_SONG_WRITE_ERRORS}
    ),
    update=extend_schema(request=SongInputSerializer, responses={200: SongOutputSerializer, **_SONG_WRITE_ERRORS}),
    destroy=extend_schema(responses={204: None, 403: _STAFF_ONLY}),
)
class SongViewSet(viewsets.ModelViewSet):
    serializer_class = SongOutputSerializer
    # Only ids that fit the database's integer column reach the query; anything else is a 404.
    lookup_value_regex = "[0-9]{1,18}"
    permission_classes = [permissions.IsAuthenticated, IsStaffOrReadOnly]

    def get_queryset(self):
        params = self.request.query_params
        return selectors.songs_list(
            search=params.get("search", ""), mood=params.get("mood", ""), genre=params.get("genre", "")
        )

    def get_object(self) -> Song:
        return get_object_or_404(Song.objects.select_related("mood"), pk=self.kwargs["pk"])

    def create(self, request: Request, *args, **kwargs) -> Response:
        data = self._input(request, partial=False)
        song = services.song_create(data=data)
        return Response(SongOutputSerializer(song).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args, **kwargs) -> Response:
        song = self.get_object()
        data = self._input(request, partial=kwargs.get("partial", False))
        song = services.song_update(song=song, data=data)
        return Response(SongOutputSerializer(song).data)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        services.song_delete(song=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @staticmethod
    def _input(request: Request, *, partial: bool) -> dict:
        serializer = SongInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)
