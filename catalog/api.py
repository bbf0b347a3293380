"""The catalog's REST API: plain CRUD over songs, so one ViewSet (reads for everyone signed in, writes for staff)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import selectors, services
from catalog.models import Song
from catalog.schema import AUDIO_FEATURES, SONG_FIELDS


class SongOutputSerializer(serializers.ModelSerializer):
    mood = serializers.CharField(source="mood.name", default=None, read_only=True)
    spotify_url = serializers.CharField(read_only=True)

    class Meta:
        model = Song
        fields = ("id", *SONG_FIELDS, "mood", "genre", "spotify_url")
        read_only_fields = fields


class SongInputSerializer(serializers.Serializer):
    """Types only; the ranges and formats are checked once, by the service (the importer's rules)."""

    spotify_id = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=300)
    album = serializers.CharField(max_length=300, allow_blank=True, required=False)
    artist = serializers.CharField(max_length=300, allow_blank=True, required=False)
    release_date = serializers.CharField(max_length=10, allow_blank=True, required=False)
    popularity = serializers.IntegerField()
    length_ms = serializers.IntegerField()
    key = serializers.IntegerField()
    time_signature = serializers.IntegerField()
    mood = serializers.CharField(max_length=40, allow_null=True, allow_blank=True, required=False)
    genre = serializers.CharField(max_length=100, allow_blank=True, required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        # A number for each of the schema's audio features.
        return {**super().get_fields(), **{name: serializers.FloatField() for name in AUDIO_FEATURES}}


class IsStaffOrReadOnly(permissions.BasePermission):
    message = "Only staff can change the catalog."

    def has_permission(self, request: Request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or bool(request.user and request.user.is_staff)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("search", str, description="Words in the song's name, artist or album."),
            OpenApiParameter("mood", str, description="A mood name, in any case (Happy, sad, ...)."),
            OpenApiParameter("genre", str, description="A genre name, in any case."),
        ]
    ),
    create=extend_schema(request=SongInputSerializer, responses={201: SongOutputSerializer}),
    partial_update=extend_schema(request=SongInputSerializer, responses=SongOutputSerializer),
    update=extend_schema(request=SongInputSerializer, responses=SongOutputSerializer),
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
