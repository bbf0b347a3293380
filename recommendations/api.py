"""The recommendations and ratings API: thin views over the selectors and services."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Strategy
from catalog.api import SongOutputSerializer
from catalog.models import Song
from detection.models import DetectionStatus
from detection.selectors import detection_get_for
from emomusic_site.api import Conflict, IdRelatedField, StrictBooleanField
from ml.labels import LABELS
from recommendations import selectors, services

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

    def validate(self, attrs: dict) -> dict:
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
    results = RecommendationOutputSerializer(many=True)


class RecommendationsApi(APIView):
    @extend_schema(
        parameters=[RecommendationsInputSerializer],
        responses={
            200: RecommendationListOutputSerializer,
            400: OpenApiResponse(
                description="Not exactly one of detection and emotion (OpenAPI cannot say 'one of two query "
                "parameters'), or a value out of range: {field: [sentence]}."
            ),
            404: OpenApiResponse(description="No such detection of yours."),
            409: OpenApiResponse(description="The detection is not analysed yet, or no face was found."),
        },
        description="Songs for one of your selfies (detection) or for an emotion picked by hand (emotion): "
        "give exactly one of the two.",
    )
    def get(self, request: Request) -> Response:
        params = RecommendationsInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        strategy = data.get("strategy") or request.user.strategy
        probabilities = detection_id = None
        if "detection" in data:
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
        )
        return Response(RecommendationListOutputSerializer(result).data)


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
