"""The mood map in API answers: a reading's `point` and the strategy's `target`, each {"valence", "energy"}."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from detection.models import Detection
from detection.serializers import DetectionOutputSerializer
from recommendations.mood_map import MapPoint


class MapPointOutputSerializer(serializers.Serializer):
    valence = serializers.FloatField(help_text="0 (sad) to 1 (happy).")
    energy = serializers.FloatField(help_text="0 (calm) to 1 (energetic).")


def map_point_data(point: MapPoint | None) -> dict[str, float] | None:
    return point.as_dict() if point is not None else None


OFF_THE_MAP = "A point on the mood map has a valence and an energy from 0 to 1."


def map_coordinate_field(*, help_text: str = "") -> serializers.FloatField:
    """One coordinate of a point given on the mood map (an optional query parameter): 0 to 1, else OFF_THE_MAP."""
    return serializers.FloatField(
        required=False,
        min_value=0.0,
        max_value=1.0,
        error_messages={"min_value": OFF_THE_MAP, "max_value": OFF_THE_MAP, "invalid": OFF_THE_MAP},
        help_text=help_text,
    )


POINT_HELP = "The reading on the mood map: the probability-weighted mean of the emotions' places; null before a result."
TARGET_HELP = "Where the strategy moves the point; `mood` is the region holding it. Null before a result."


class DetectionOnMapOutputSerializer(DetectionOutputSerializer):
    """A detection with its place on the mood map, from the context's `map` (detection id -> (point, target))."""

    point = serializers.SerializerMethodField(help_text=POINT_HELP)
    target = serializers.SerializerMethodField(help_text=TARGET_HELP)

    class Meta(DetectionOutputSerializer.Meta):
        fields = [*DetectionOutputSerializer.Meta.fields, "point", "target"]

    @extend_schema_field(MapPointOutputSerializer(allow_null=True))
    def get_point(self, detection: Detection) -> dict[str, float] | None:
        return map_point_data(self.context.get("map", {}).get(detection.pk, (None, None))[0])

    @extend_schema_field(MapPointOutputSerializer(allow_null=True))
    def get_target(self, detection: Detection) -> dict[str, float] | None:
        return map_point_data(self.context.get("map", {}).get(detection.pk, (None, None))[1])
