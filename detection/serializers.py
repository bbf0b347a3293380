from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from detection.models import HINT_MESSAGES, Detection, Outcome
from ml.runtime.labels import LABELS


class DetectionCreateInputSerializer(serializers.Serializer):
    # Content is checked by decoding in the service, not here: an empty file
    # or a wrong type gets the service's sentence, the same as on the web form.
    image = serializers.FileField(
        allow_empty_file=True,
        error_messages={
            "required": "Choose a photo to upload (multipart field 'image').",
            "invalid": "Send the photo as a file in the multipart field 'image'.",
            "no_name": "Send the photo as a file in the multipart field 'image'.",
        },
    )


class DetectionCorrectInputSerializer(serializers.Serializer):
    # A choice, so that the schema lists the seven; the message is the service's own.
    emotion = serializers.ChoiceField(
        choices=LABELS,
        error_messages={
            "required": 'Say which emotion is right, for example "sad".',
            "invalid_choice": f"Choose one of the seven emotions: {', '.join(LABELS)}.",
        },
    )


class DetectionFaceInputSerializer(serializers.Serializer):
    _message = "Give the face as its index in `faces`: a whole number from 0."
    index = serializers.IntegerField(
        min_value=0,
        max_value=10_000,
        error_messages={"required": _message, "invalid": _message, "min_value": _message, "max_value": _message},
    )


def _mood_scale(name: str) -> serializers.IntegerField:
    message = f"Give {name} as a whole number from 1 (very bad) to 5 (very good)."
    return serializers.IntegerField(
        min_value=1,
        max_value=5,
        error_messages={"required": message, "invalid": message, "min_value": message, "max_value": message},
    )


class OutcomeInputSerializer(serializers.Serializer):
    mood_before = _mood_scale("mood_before")
    mood_after = _mood_scale("mood_after")


class OutcomeOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Outcome
        fields = ["detection", "strategy", "mood_before", "mood_after", "created", "updated"]


def ordered_probabilities(probabilities: dict | None) -> dict[str, float] | None:
    if not probabilities:
        return None
    return {label: float(probabilities.get(label, 0.0)) for label in LABELS}


class HintSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=list(HINT_MESSAGES))
    message = serializers.CharField()


class BlankAsNullField(serializers.CharField):
    """A text column that is blank until known (the emotion before the analysis, say), answered as null then."""

    def __init__(self, **kwargs) -> None:
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def to_representation(self, value: str) -> str | None:
        return value or None


class DetectionOutputSerializer(serializers.ModelSerializer):
    emotion = BlankAsNullField()
    model_version = BlankAsNullField()
    corrected_emotion = BlankAsNullField()
    probabilities = serializers.SerializerMethodField()
    faces = serializers.SerializerMethodField()
    mood = serializers.SerializerMethodField()
    photo_url = serializers.SerializerMethodField()
    hints = serializers.SerializerMethodField()

    class Meta:
        model = Detection
        fields = [
            "id",
            "status",
            "created",
            "emotion",
            "confidence",
            "probabilities",
            "faces",
            "mood",
            "error",
            "model_version",
            "corrected_emotion",
            "started",
            "finished",
            "image_width",
            "image_height",
            "photo_url",
            "main_face",
            "frames_read",
            "hints",
        ]

    def get_probabilities(self, detection: Detection) -> dict[str, float] | None:
        return ordered_probabilities(detection.probabilities)

    def get_faces(self, detection: Detection) -> list[dict]:
        return [
            {
                "box": list(face["box"]),
                "emotion": face["emotion"],
                "probabilities": ordered_probabilities(face["probabilities"]),
            }
            for face in detection.faces or []
        ]

    def get_mood(self, detection: Detection) -> str | None:
        """The mood its songs are in, from the context's `moods` (detection id -> mood name).

        The recommendations app computes it, for the owner's current strategy; its views pass it.
        """
        return self.context.get("moods", {}).get(detection.pk)

    @extend_schema_field(HintSerializer(many=True))
    def get_hints(self, detection: Detection) -> list[dict[str, str]]:
        """What made the photo hard to read, each with the sentence to show: hints, not refusals."""
        return detection.hint_messages

    def get_photo_url(self, detection: Detection) -> str | None:
        """The owner-only address of the photo, while it is kept: the API's, which takes the token or the session."""
        if not detection.image:
            return None
        return reverse("api_detection_photo", args=[detection.pk])
