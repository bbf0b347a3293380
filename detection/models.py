import uuid

from django.db import models

from ml.runtime.labels import LABELS

# The words people say for each of the model's labels ("you look scared", not
# "you look fear"); the labels themselves stay the API's keys.
EMOTION_WORDS: dict[str, str] = {
    "angry": "angry",
    "disgust": "disgusted",
    "fear": "scared",
    "happy": "happy",
    "sad": "sad",
    "surprise": "surprised",
    "neutral": "neutral",
}
# What each photo hint (ml.runtime.quality) says to the user: a hint, not a refusal.
HINT_MESSAGES: dict[str, str] = {
    "small_face": "Your face is small in this photo; a closer one reads better.",
    "dark": "This photo is dark; one in brighter light reads better.",
    "blurred": "This photo looks blurred; a sharper one reads better.",
}
EMOTION_CHOICES = [(label, EMOTION_WORDS[label].capitalize()) for label in LABELS]


class DetectionStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    DONE = "done", "Done"
    NO_FACE = "no_face", "No face found"
    FAILED = "failed", "Failed"


PENDING_STATUSES = (DetectionStatus.QUEUED, DetectionStatus.PROCESSING)


def photo_folder(user_id: int) -> str:
    """The storage folder that holds every photo (and burst frame) of one user, and nothing else."""
    return f"photos/{user_id}"


def photo_upload_path(instance: "Detection", filename: str) -> str:
    # The user's file name never reaches the filesystem: a random name that
    # cannot be guessed, under a folder per user.
    return f"{photo_folder(instance.user_id)}/{uuid.uuid4().hex}.jpg"


class Detection(models.Model):
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="detections")
    image = models.FileField(upload_to=photo_upload_path, blank=True)
    # The stored (normalised) photo's size: face boxes are in its pixels.
    image_width = models.PositiveIntegerField(null=True, blank=True)
    image_height = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=DetectionStatus.choices, default=DetectionStatus.QUEUED)
    probabilities = models.JSONField(null=True, blank=True)
    faces = models.JSONField(default=list, blank=True)
    emotion = models.CharField(max_length=10, choices=EMOTION_CHOICES, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    corrected_emotion = models.CharField(max_length=10, choices=EMOTION_CHOICES, blank=True)
    # Which of `faces` is the user (the largest unless they chose another); the
    # detection's emotion and probabilities are that face's. No mood is stored:
    # it follows the strategy, so it is computed where it is shown.
    main_face = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    # Of a webcam burst's frames (the photo and its `frames`), how many showed the main face and were read.
    frames_read = models.PositiveSmallIntegerField(null=True, blank=True)
    # What made the photo hard to read (ml.runtime.quality: small_face, dark, blurred), measured on the main
    # face when the photo was analysed: the photo itself may be gone by the time it is shown.
    hints = models.JSONField(default=list, blank=True)
    model_version = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    photo_deleted = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=DetectionStatus.values), name="detection_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(confidence__isnull=True) | models.Q(confidence__gte=0, confidence__lte=1),
                name="detection_confidence_range",
            ),
        ]
        indexes = [models.Index(fields=["status", "created"], name="detection_status_created")]

    def __str__(self) -> str:
        return f"Detection {self.pk} ({self.status})"

    @property
    def hint_messages(self) -> list[dict[str, str]]:
        """The photo's hints, each with the sentence to show."""
        return [{"code": code, "message": HINT_MESSAGES[code]} for code in self.hints if code in HINT_MESSAGES]

    @property
    def effective_emotion(self) -> str:
        """The emotion that drives the mood: the user's correction wins."""
        return self.corrected_emotion or self.emotion


def frame_upload_path(instance: "DetectionFrame", filename: str) -> str:
    return f"{photo_folder(instance.detection.user_id)}/{uuid.uuid4().hex}.jpg"


class DetectionFrame(models.Model):
    """A further frame of a webcam burst: the detection's own photo is its first frame."""

    detection = models.ForeignKey(Detection, on_delete=models.CASCADE, related_name="frames")
    index = models.PositiveSmallIntegerField()
    image = models.FileField(upload_to=frame_upload_path)

    class Meta:
        ordering = ["index"]
        constraints = [models.UniqueConstraint(fields=["detection", "index"], name="frame_index_unique")]

    def __str__(self) -> str:
        return f"Frame {self.index} of detection {self.detection_id}"


class Outcome(models.Model):
    """How the user felt before and after listening to a detection's songs."""

    detection = models.OneToOneField(Detection, on_delete=models.CASCADE, related_name="outcome")
    strategy = models.CharField(max_length=10)
    mood_before = models.PositiveSmallIntegerField()
    mood_after = models.PositiveSmallIntegerField()
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(mood_before__gte=1, mood_before__lte=5), name="outcome_before_range"
            ),
            models.CheckConstraint(
                condition=models.Q(mood_after__gte=1, mood_after__lte=5), name="outcome_after_range"
            ),
        ]

    def __str__(self) -> str:
        return f"Outcome of detection {self.detection_id}: {self.mood_before} -> {self.mood_after}"
