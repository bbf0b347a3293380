from django.urls import reverse
from rest_framework import serializers

from detection.models import Detection, Outcome
from detection.selectors import detection_mood_for
from ml.labels import LABELS


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


class DetectionOutputSerializer(serializers.ModelSerializer):
    emotion = serializers.SerializerMethodField()
    probabilities = serializers.SerializerMethodField()
    faces = serializers.SerializerMethodField()
    mood = serializers.SerializerMethodField()
    model_version = serializers.SerializerMethodField()
    corrected_emotion = serializers.SerializerMethodField()
    photo_url = serializers.SerializerMethodField()

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
        ]

    def get_emotion(self, detection: Detection) -> str | None:
        return detection.emotion or None

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
        """Computed for the owner's current strategy, so it follows a strategy change."""
        return detection_mood_for(detection=detection).mood

    def get_model_version(self, detection: Detection) -> str | None:
        return detection.model_version or None

    def get_corrected_emotion(self, detection: Detection) -> str | None:
        return detection.corrected_emotion or None

    def get_photo_url(self, detection: Detection) -> str | None:
        """The owner-only address of the photo, while it is kept."""
        if not detection.image:
            return None
        return reverse("detection_photo", args=[detection.pk])
