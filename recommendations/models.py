from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from accounts.models import Strategy
from catalog.models import Mood, Song
from detection.models import EMOTION_CHOICES


class EmotionMoodRule(models.Model):
    """Which mood a strategy picks for an emotion; admins edit the table."""

    strategy = models.CharField(max_length=10, choices=Strategy.choices)
    emotion = models.CharField(max_length=10, choices=EMOTION_CHOICES)
    mood = models.ForeignKey(Mood, on_delete=models.CASCADE, related_name="rules")

    class Meta:
        ordering = ["strategy", "emotion"]
        constraints = [
            models.UniqueConstraint(fields=["strategy", "emotion"], name="rule_unique_strategy_emotion"),
        ]

    def __str__(self) -> str:
        return f"{self.strategy}: {self.emotion} → {self.mood}"


class Rating(models.Model):
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="ratings")
    song = models.ForeignKey(Song, on_delete=models.CASCADE, related_name="ratings")
    score = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    # Ratings are about songs: deleting the selfie keeps them, unlinked
    # (services.ratings_detach settles a clash with a rating made without one).
    detection = models.ForeignKey(
        "detection.Detection", null=True, blank=True, on_delete=models.SET_NULL, related_name="ratings"
    )
    # The emotion the song was rated in: the detection's (corrected) emotion,
    # or the one picked by hand. Blank when rated from the catalog.
    emotion = models.CharField(max_length=10, choices=EMOTION_CHOICES, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="rating_score_range"),
            models.UniqueConstraint(
                fields=["user", "song", "detection"],
                condition=models.Q(detection__isnull=False),
                name="rating_unique_per_detection",
            ),
            models.UniqueConstraint(
                fields=["user", "song"],
                condition=models.Q(detection__isnull=True),
                name="rating_unique_without_detection",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} rated {self.song}: {self.score}"
