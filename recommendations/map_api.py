"""`GET /api/mood-map/`: the mood map (emotions' places, strategies' moves, moods' regions) and, for a
point given as `valence` and `energy`, where the strategy moves it and the mood that names it."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Strategy
from recommendations import selectors
from recommendations.map_serializers import POINT_HELP, TARGET_HELP, MapPointOutputSerializer, map_coordinate_field
from recommendations.mood_map import MapPoint


class MoodMapInputSerializer(serializers.Serializer):
    valence = map_coordinate_field()
    energy = map_coordinate_field()
    strategy = serializers.ChoiceField(choices=Strategy.values, required=False)

    def validate(self, attrs: dict) -> dict:
        # DRF reads an empty optional query parameter as a missing one; here it is a mistake to name.
        blank = {
            name: ["Give a value or leave the parameter out."]
            for name in self.fields
            if self.initial_data.get(name) == ""
        }
        if blank:
            raise serializers.ValidationError(blank)
        if ("valence" in attrs) != ("energy" in attrs):
            raise serializers.ValidationError("Give a point as both valence and energy, or neither.")
        return attrs


class MoodCentreOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    centre = MapPointOutputSerializer(
        help_text="The centre admins set for the mood's region, else the mean valence and energy of its labelled songs."
    )


class MoodMapOutputSerializer(serializers.Serializer):
    places = serializers.DictField(child=MapPointOutputSerializer(), help_text="Each emotion's place.")
    moves = serializers.DictField(child=serializers.FloatField(), help_text="How far each strategy moves a point.")
    moods = MoodCentreOutputSerializer(many=True, help_text="A point belongs to the mood of the nearest centre.")
    strategy = serializers.CharField()
    point = MapPointOutputSerializer(allow_null=True, help_text=POINT_HELP)
    target = MapPointOutputSerializer(allow_null=True, help_text=TARGET_HELP)
    mood = serializers.CharField(allow_null=True, help_text="The mood whose region holds the target.")


def _point(point: MapPoint | None) -> dict[str, float] | None:
    return point.as_dict() if point is not None else None


class MoodMapApi(APIView):
    @extend_schema(
        parameters=[MoodMapInputSerializer],
        responses={
            200: MoodMapOutputSerializer,
            400: OpenApiResponse(description="A point off the map, or only half of one: {field: [sentence]}."),
        },
    )
    def get(self, request: Request) -> Response:
        params = MoodMapInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        point = MapPoint(data["valence"], data["energy"]) if "valence" in data else None
        view = selectors.mood_map_for(strategy=data.get("strategy") or request.user.strategy, point=point)
        return Response(
            MoodMapOutputSerializer(
                {
                    "places": {emotion: place.as_dict() for emotion, place in view.places.items()},
                    "moves": view.moves,
                    "moods": [{"name": mood.name, "centre": centre.as_dict()} for mood, centre in view.centres],
                    "strategy": view.strategy,
                    "point": _point(view.point),
                    "target": _point(view.target),
                    "mood": view.mood.name if view.mood else None,
                }
            ).data
        )
