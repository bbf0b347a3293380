"""Output serializers for "your data" (selectors.user_export), shared by the API and the download page, and the
account as /api/me/ shows it."""

from rest_framework import serializers

from accounts.models import PhotoRetention, Strategy


# The account and its preferences, as /api/me/ and the export both show them.
class AccountOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    date_joined = serializers.DateTimeField()
    strategy = serializers.ChoiceField(choices=Strategy.choices)
    photo_retention = serializers.ChoiceField(choices=PhotoRetention.choices)
    share_photos_for_training = serializers.BooleanField()


class ExportAccountSerializer(AccountOutputSerializer):
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    last_login = serializers.DateTimeField(allow_null=True)


class ExportDetectionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    created = serializers.DateTimeField()
    started = serializers.DateTimeField(allow_null=True)
    finished = serializers.DateTimeField(allow_null=True)
    emotion = serializers.CharField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    probabilities = serializers.DictField(child=serializers.FloatField(), allow_null=True)
    faces = serializers.JSONField()
    mood = serializers.CharField(allow_null=True)
    corrected_emotion = serializers.CharField(allow_null=True)
    error = serializers.CharField()
    model_version = serializers.CharField(allow_null=True)
    attempts = serializers.IntegerField(help_text="How many times a worker started analysing the photo.")
    image_width = serializers.IntegerField(allow_null=True)
    image_height = serializers.IntegerField(allow_null=True)
    photo_stored = serializers.BooleanField(help_text="Whether the photo itself is still kept (it is not exported).")
    photo_deleted = serializers.DateTimeField(allow_null=True)


class ExportCorrectionSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The corrected detection.")
    emotion = serializers.CharField(allow_null=True, help_text="What the model read.")
    corrected_emotion = serializers.CharField(help_text="What you said it was.")


class ExportOutcomeSerializer(serializers.Serializer):
    detection = serializers.IntegerField()
    strategy = serializers.CharField()
    mood_before = serializers.IntegerField()
    mood_after = serializers.IntegerField()
    created = serializers.DateTimeField()
    updated = serializers.DateTimeField()


class ExportSongSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    artist = serializers.CharField()
    spotify_id = serializers.CharField()


class ExportRatingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    song = ExportSongSerializer()
    score = serializers.IntegerField()
    detection = serializers.IntegerField(allow_null=True)
    emotion = serializers.CharField(allow_null=True)
    created = serializers.DateTimeField()
    updated = serializers.DateTimeField()


class ExportOutputSerializer(serializers.Serializer):
    exported = serializers.DateTimeField()
    account = ExportAccountSerializer()
    detections = ExportDetectionSerializer(many=True)
    corrections = ExportCorrectionSerializer(many=True)
    outcomes = ExportOutcomeSerializer(many=True)
    ratings = ExportRatingSerializer(many=True)
    excluded_genres = serializers.ListField(
        child=serializers.CharField(), help_text="The genres you left out of your lists, in your profile."
    )
