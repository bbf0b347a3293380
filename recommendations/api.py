"""The API of a selfie and its songs: detections, recommendations, ratings, and the account (/api/me/).

Thin views over the selectors and services, detection's and accounts' included: every answer about a
detection carries the mood of its songs, and deleting or exporting an account reaches the detections
and ratings, so these endpoints live here, above both apps. Errors are answered by the one exception
handler (emomusic_site.api).
"""

from collections.abc import Sequence

from django.db import transaction
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.models import PhotoRetention, Strategy
from catalog.api import SongOutputSerializer
from catalog.models import Song
from detection import services as detection_services
from detection.models import Detection, DetectionStatus
from detection.selectors import detection_get_for, detections_for
from detection.serializers import (
    DetectionCorrectInputSerializer,
    DetectionCreateInputSerializer,
    DetectionFaceInputSerializer,
    OutcomeInputSerializer,
    OutcomeOutputSerializer,
)
from emomusic_site.api import IdRelatedField, StrictBooleanField
from emomusic_site.errors import Conflict
from emomusic_site.ratelimit import client_address, rate_limit_hit
from ml.runtime.labels import LABELS
from recommendations import photos, selectors, services
from recommendations.map_serializers import (
    POINT_HELP,
    TARGET_HELP,
    DetectionOnMapOutputSerializer,
    MapPointOutputSerializer,
    map_coordinate_field,
    map_point_data,
)
from recommendations.mood_map import MapPoint
from recommendations.serializers import AccountOutputSerializer, ExportOutputSerializer

# The largest id the database's integer columns hold; a bigger one is simply not found.
MAX_ID = 2**63 - 1


# --- Recommendations -----------------------------------------------------------


class RecommendationsInputSerializer(serializers.Serializer):
    detection = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    emotion = serializers.ChoiceField(choices=LABELS, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)
    strategy = serializers.ChoiceField(choices=Strategy.values, required=False)
    favourites = StrictBooleanField(
        default=False, help_text="true: songs you rated may fill the list (by default they take at most 3 of 10)."
    )
    genre = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="Only songs of this genre (any case; GET /api/genres/ lists them). A genre the catalog lacks, "
        "or one you left out in your profile, answers 400.",
    )

    valence = map_coordinate_field(
        help_text="With energy: a point picked on the mood map (0 sad to 1 happy), in place of detection or emotion."
    )
    energy = map_coordinate_field(help_text="With valence: a point picked on the mood map (0 calm to 1 energetic).")

    def validate(self, attrs: dict) -> dict:
        if "valence" in attrs or "energy" in attrs:
            if ("valence" in attrs) != ("energy" in attrs):
                raise serializers.ValidationError("Give a point on the mood map as both valence and energy.")
            if "detection" in attrs or "emotion" in attrs:
                raise serializers.ValidationError(
                    "Give a point on the mood map (valence and energy), or detection, or emotion: one of the three."
                )
            return attrs
        if ("detection" in attrs) == ("emotion" in attrs):
            raise serializers.ValidationError(
                "Give either detection (the id of one of your selfies) or emotion (one of "
                f"{', '.join(LABELS)}), not both and not neither."
            )
        return attrs


class RecommendationOutputSerializer(serializers.Serializer):
    song = SongOutputSerializer()
    score = serializers.FloatField()
    reasons = serializers.ListField(child=serializers.CharField())
    explore = serializers.BooleanField(help_text="True for the share of songs picked to explore your taste.")
    rating = serializers.IntegerField(allow_null=True, help_text="Your stars for this song in this context, if any.")


class RecommendationListOutputSerializer(serializers.Serializer):
    emotion = serializers.CharField()
    mood = serializers.CharField(
        source="mood.name",
        default=None,
        allow_null=True,
        help_text="The mood the emotion and strategy choose; null when the admins have set none up for them.",
    )
    mood_reason = serializers.CharField(
        help_text='One plain line when a mix of emotions chose the mood ("Scared 41% and sad 30% together → Sad '
        'songs."), else "".'
    )
    strategy = serializers.CharField()
    point = serializers.SerializerMethodField(help_text=POINT_HELP)
    target = serializers.SerializerMethodField(help_text=TARGET_HELP)
    genre = serializers.CharField(
        allow_null=True, help_text="The genre the list is filtered by (lower case); null for every genre."
    )
    notice = serializers.CharField(
        help_text="One plain line when the genres you left out, or the one asked for, leave fewer songs than the "
        'limit ("Only 3 rock songs are in the Calm mood."), else "".'
    )
    results = RecommendationOutputSerializer(many=True)

    def to_representation(self, instance: selectors.RecommendationList) -> dict:
        data = super().to_representation(instance)
        data["genre"] = data["genre"] or None
        return data

    @extend_schema_field(MapPointOutputSerializer(allow_null=True))
    def get_point(self, result: selectors.RecommendationList) -> dict[str, float] | None:
        return map_point_data(result.point)

    @extend_schema_field(MapPointOutputSerializer(allow_null=True))
    def get_target(self, result: selectors.RecommendationList) -> dict[str, float] | None:
        return map_point_data(result.target)


class RecommendationsApi(APIView):
    @extend_schema(
        parameters=[RecommendationsInputSerializer],
        responses={
            200: RecommendationListOutputSerializer,
            400: OpenApiResponse(
                description="Not exactly one of detection and emotion (OpenAPI cannot say 'one of two query "
                "parameters'), a value out of range, a genre the catalog lacks or one you left out: "
                "{field: [sentence]}."
            ),
            404: OpenApiResponse(description="No such detection of yours."),
            409: OpenApiResponse(description="The detection is not analysed yet, or no face was found."),
        },
        description="Songs for one of your selfies (detection), for an emotion picked by hand (emotion), or for "
        "a point picked on the mood map (valence and energy, each 0..1; `emotion` in the answer is then the "
        "emotion whose place is nearest, the context ratings made there are kept in): give exactly one of the three.",
    )
    def get(self, request: Request) -> Response:
        params = RecommendationsInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        strategy = data.get("strategy") or request.user.strategy
        probabilities = detection_id = point = None
        if "valence" in data:
            point = MapPoint(data["valence"], data["energy"])
            emotion = selectors.emotion_at(point=point)
        elif "detection" in data:
            detection = detection_get_for(user=request.user, detection_id=data["detection"])
            if detection.status != DetectionStatus.DONE:
                raise Conflict(
                    f"This selfie is {detection.get_status_display().lower()}; "
                    "recommendations come once it has been analysed and a face was found."
                )
            emotion = detection.effective_emotion
            probabilities = detection.probabilities
            detection_id = detection.pk
        else:
            emotion = data["emotion"]
        result = selectors.recommendations_for(
            user=request.user,
            emotion=emotion,
            strategy=strategy,
            probabilities=probabilities,
            limit=data["limit"],
            detection_id=detection_id,
            favourites=data["favourites"],
            genre=data.get("genre", ""),
            point=point,
        )
        return Response(RecommendationListOutputSerializer(result).data)


class GenreOutputSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="Lower case, as the genre filter and excluded_genres take it.")
    songs = serializers.IntegerField(help_text="How many of the catalog's songs are of this genre.")
    excluded = serializers.BooleanField(help_text="True when you left this genre out in your profile.")


class GenreListApi(APIView):
    @extend_schema(
        summary="The catalog's genres, by name, and which of them you left out",
        responses=GenreOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        excluded = set(selectors.excluded_genres_for(user=request.user))
        genres = [
            {"name": genre.name, "songs": genre.songs, "excluded": genre.name in excluded}
            for genre in selectors.genres_in_catalog()
        ]
        return Response(GenreOutputSerializer(genres, many=True).data)


# --- Ratings -------------------------------------------------------------------


class RatingInputSerializer(serializers.Serializer):
    song = IdRelatedField(
        queryset=Song.objects.all(),
        error_messages={"does_not_exist": "There is no song with id {pk_value}.", "incorrect_type": "Give a song id."},
    )
    score = serializers.IntegerField(
        min_value=1,
        max_value=5,
        error_messages={"min_value": "Give 1 to 5 stars.", "max_value": "Give 1 to 5 stars."},
    )
    detection = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True)
    emotion = serializers.ChoiceField(
        choices=LABELS, required=False, allow_blank=True, help_text="The emotion picked by hand, without a detection."
    )


class RatingOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    song = serializers.IntegerField(source="song_id")
    score = serializers.IntegerField()
    detection = serializers.IntegerField(source="detection_id", allow_null=True)
    emotion = serializers.CharField()
    created = serializers.DateTimeField()


class RatingListCreateApi(ListAPIView):
    """GET lists the user's ratings (newest first, paginated); POST saves one, replacing an earlier one in the same
    context."""

    serializer_class = RatingOutputSerializer

    def get_queryset(self):
        return selectors.ratings_for(user=self.request.user)

    @extend_schema(
        request=RatingInputSerializer,
        responses={
            200: RatingOutputSerializer,
            201: RatingOutputSerializer,
            400: OpenApiResponse(description="No song with that id, or a score outside 1 to 5: {field: [sentence]}."),
            404: OpenApiResponse(description="No such detection of yours."),
        },
    )
    def post(self, request: Request) -> Response:
        params = RatingInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        detection = None
        if data.get("detection") is not None:
            detection = detection_get_for(user=request.user, detection_id=data["detection"])
        rating, created = services.rating_upsert(
            user=request.user,
            song=data["song"],
            score=data["score"],
            detection=detection,
            emotion=data.get("emotion", ""),
        )
        return Response(
            RatingOutputSerializer(rating).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class RatingDetailApi(APIView):
    @extend_schema(parameters=[OpenApiParameter("rating_id", int, OpenApiParameter.PATH)], responses={204: None})
    def delete(self, request: Request, rating_id: str) -> Response:
        services.rating_delete(rating=selectors.rating_for_user(user=request.user, rating_id=int(rating_id)))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Detections (a selfie, with the mood of its songs) ----------------------------------------------
# Every answer about a detection carries the mood its songs are in, which only this app knows: so the
# detection endpoints are served here, calling detection's services and selectors directly.


def _moods_of(detections: Sequence[Detection], *, user) -> dict[str, dict]:
    """The detection serializer's context: each detection's mood and place on the mood map under its owner's
    current strategy."""
    choices = selectors.detection_moods_for(detections=detections, strategy=user.strategy)
    pairs = list(zip(detections, choices, strict=True))
    return {
        "moods": {detection.pk: choice.mood for detection, choice in pairs},
        "map": {detection.pk: (choice.point, choice.target) for detection, choice in pairs},
    }


def _detection_output(detection: Detection) -> dict:
    return DetectionOnMapOutputSerializer(detection, context=_moods_of([detection], user=detection.user)).data


class DetectionListCreateApi(GenericAPIView):
    """`/api/detections/`: GET lists the user's detections, POST uploads a photo.

    Both operations share a path, so they share a view; each keeps its own
    serializers.
    """

    serializer_class = DetectionOnMapOutputSerializer
    # Multipart only: a photo is a file, and the schema then offers no other content type (415 for one).
    parser_classes = [MultiPartParser]

    def get_queryset(self):
        return detections_for(user=self.request.user)

    @extend_schema(summary="The user's detections, newest first", responses=DetectionOnMapOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = list(self.paginate_queryset(self.get_queryset()))
        return self.get_paginated_response(
            DetectionOnMapOutputSerializer(page, many=True, context=_moods_of(page, user=request.user)).data
        )

    @extend_schema(
        summary="Upload a photo (multipart field `image`), or a webcam burst of up to 8 (`image` repeated)",
        request=DetectionCreateInputSerializer,
        responses={
            202: DetectionOnMapOutputSerializer,
            400: OpenApiResponse(
                description='Not a usable photo, or a burst frame that is not (the sentence names it: "Frame 3: ..."), '
                'or more than 8 frames: {"image": ["a sentence saying why and what to do"]}; nothing is stored.'
            ),
            429: OpenApiResponse(description="Too many uploads in a minute."),
            503: OpenApiResponse(description="The task queue is down; nothing was stored. Try again in a minute."),
        },
    )
    def post(self, request: Request) -> Response:
        rate_limit_hit(scope="upload_user", key=str(request.user.pk))
        serializer = DetectionCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # A webcam burst sends its frames as repeated `image` parts, in the order they were taken.
        frames = request.FILES.getlist("image") or [serializer.validated_data["image"]]
        detection = detection_services.detection_create(user=request.user, upload=frames[0], frames=frames[1:])
        return Response(_detection_output(detection), status=status.HTTP_202_ACCEPTED)


class DetectionPhotoApi(APIView):
    """`photo_url`: the stored photo, to its owner, with the API's token as with the site's session."""

    @extend_schema(
        summary="The detection's stored photo (JPEG), while it is kept",
        responses={
            (200, "image/jpeg"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="No such detection of yours, or its photo has been deleted."),
            503: OpenApiResponse(description="The photo storage cannot be read right now; the photo is still kept."),
        },
    )
    def get(self, request: Request, detection_id: int) -> FileResponse:
        detection = detection_get_for(user=request.user, detection_id=detection_id)
        return photos.detection_photo_response(detection=detection)


class DetectionDetailApi(APIView):
    @extend_schema(
        summary="One detection (poll it until its status is done, no_face or failed)",
        responses={
            200: DetectionOnMapOutputSerializer,
            404: OpenApiResponse(description="No such detection of yours."),
        },
    )
    def get(self, request: Request, detection_id: int) -> Response:
        detection = detection_get_for(user=request.user, detection_id=detection_id)
        detection = detection_services.detection_fail_if_stuck(detection=detection)
        return Response(_detection_output(detection))

    @extend_schema(
        summary="Delete a detection and its photo",
        responses={
            204: None,
            404: OpenApiResponse(description="No such detection of yours."),
            503: OpenApiResponse(
                description="The photo storage could not delete the photo; nothing was deleted. Try again later."
            ),
        },
    )
    def delete(self, request: Request, detection_id: int) -> Response:
        detection = detection_get_for(user=request.user, detection_id=detection_id)
        services.detection_delete(detection=detection)
        return Response(status=status.HTTP_204_NO_CONTENT)


# What a change answers when it is refused: 400 for the body, 409 before the analysis has finished.
NOT_FINISHED = OpenApiResponse(description="The analysis is not finished (status is not done).")


def _detection_change_schema(*, summary: str, request, answer, refused: str):
    """The schema of a POST to one of the user's detections: `answer` on 200, 400 `refused`, 409 unfinished."""
    return extend_schema_view(
        post=extend_schema(
            summary=summary,
            request=request,
            responses={200: answer, 400: OpenApiResponse(description=refused), 409: NOT_FINISHED},
        )
    )


# POST to one of the user's detections: `input_serializer` reads the body, `change` hands it to the service
# and says what to answer. (A comment, not a docstring: the schema would show it for every subclass.)
class _DetectionChangeApi(APIView):
    input_serializer: type[serializers.Serializer]

    def change(self, detection: Detection, data: dict) -> dict:
        raise NotImplementedError

    def post(self, request: Request, detection_id: int) -> Response:
        detection = detection_get_for(user=request.user, detection_id=detection_id)
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(self.change(detection, serializer.validated_data))


@_detection_change_schema(
    summary="Say which emotion is right; the mood and recommendations follow it",
    request=DetectionCorrectInputSerializer,
    answer=DetectionOnMapOutputSerializer,
    refused="Not one of the seven emotions.",
)
class DetectionCorrectApi(_DetectionChangeApi):
    input_serializer = DetectionCorrectInputSerializer

    def change(self, detection: Detection, data: dict) -> dict:
        return _detection_output(detection_services.detection_correct(detection=detection, **data))


@_detection_change_schema(
    summary="Say which face of a group photo is yours; the emotion, mood and recommendations follow it",
    request=DetectionFaceInputSerializer,
    answer=DetectionOnMapOutputSerializer,
    refused="Not the index of one of the detection's faces.",
)
class DetectionFaceApi(_DetectionChangeApi):
    input_serializer = DetectionFaceInputSerializer

    def change(self, detection: Detection, data: dict) -> dict:
        return _detection_output(detection_services.detection_main_face_set(detection=detection, **data))


@_detection_change_schema(
    summary="How the user felt before and after listening (1 to 5); replaces an earlier answer",
    request=OutcomeInputSerializer,
    answer=OutcomeOutputSerializer,
    refused="A value outside 1 to 5.",
)
class DetectionOutcomeApi(_DetectionChangeApi):
    input_serializer = OutcomeInputSerializer

    def change(self, detection: Detection, data: dict) -> dict:
        outcome, _created = detection_services.outcome_record(detection=detection, **data)
        return OutcomeOutputSerializer(outcome).data


# --- The account: /api/me/ ----------------------------------------------------------------------


EXCLUDED_GENRES_HELP = "The genres left out of every list of yours (lower case); GET /api/genres/ lists the catalog's."


class MeOutputSerializer(AccountOutputSerializer):
    detections = serializers.IntegerField(help_text="How many detections the account holds.")
    ratings = serializers.IntegerField(help_text="How many ratings the account holds.")
    excluded_genres = serializers.ListField(child=serializers.CharField(), help_text=EXCLUDED_GENRES_HELP)


class MeUpdateInputSerializer(serializers.Serializer):
    strategy = serializers.ChoiceField(choices=Strategy.choices, required=False)
    photo_retention = serializers.ChoiceField(choices=PhotoRetention.choices, required=False)
    share_photos_for_training = StrictBooleanField(required=False)
    excluded_genres = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        allow_empty=True,
        max_length=500,
        help_text=EXCLUDED_GENRES_HELP + " The list replaces the earlier one; [] includes every genre again.",
    )


def _me(user) -> dict:
    return {**account_selectors.user_summary(user=user), "excluded_genres": selectors.excluded_genres_for(user=user)}


class MeDeleteInputSerializer(serializers.Serializer):
    password = serializers.CharField(max_length=4096, trim_whitespace=False, write_only=True)


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeOutputSerializer(_me(request.user)).data)

    @extend_schema(
        request=MeUpdateInputSerializer,
        responses={
            200: MeOutputSerializer,
            400: OpenApiResponse(
                description="A value that is not one of the choices, or a genre the catalog lacks: "
                "{field: [sentence]}; nothing is changed."
            ),
        },
    )
    def patch(self, request: Request) -> Response:
        data = MeUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        preferences = dict(data.validated_data)
        excluded_genres = preferences.pop("excluded_genres", None)
        # Both or neither: a refused genre leaves the strategy as it was too.
        with transaction.atomic():
            if excluded_genres is not None:
                services.excluded_genres_set(user=request.user, genres=excluded_genres)
            user = account_services.user_update_preferences(user=request.user, **preferences)
        return Response(MeOutputSerializer(_me(user)).data)

    # drf-spectacular documents a request body for PUT, PATCH and POST only, so the description states this one.
    @extend_schema(
        responses={
            204: None,
            400: OpenApiResponse(
                description='A missing or wrong password: {"password": ["a sentence"]}; nothing is deleted.'
            ),
            429: OpenApiResponse(
                description="Too many wrong passwords (counted with the log-ins): "
                '{"detail": "Too many attempts. Try again in N seconds."}, with Retry-After; nothing is deleted.'
            ),
            503: OpenApiResponse(
                description="The photo storage could not delete the photos; the account was not deleted. "
                "Try again later."
            ),
        },
        description='Delete the account and everything stored about it. The JSON body {"password": "..."} '
        "confirms it; wrong passwords count toward the log-in delay.",
    )
    def delete(self, request: Request) -> Response:
        data = MeDeleteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.account_delete_by_owner(
            user=request.user, password=data.validated_data["password"], address=client_address(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeExportApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=ExportOutputSerializer, description="Everything stored about you, as one JSON document.")
    def get(self, request: Request) -> Response:
        return Response(ExportOutputSerializer(selectors.user_export(user=request.user)).data)
