from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from accounts.models import Strategy
from catalog.models import Song
from detection.models import EMOTION_CHOICES


def _on_the_map() -> list:
    return [
        MinValueValidator(0.0, message="Points on the mood map run from 0 to 1."),
        MaxValueValidator(1.0, message="Points on the mood map run from 0 to 1."),
    ]


class EmotionPlace(models.Model):
    """Where an emotion sits on the mood map (valence by energy, both 0..1); admins move the places.

    The defaults and where they come from: recommendations.mood_map.DEFAULT_PLACES.
    """

    emotion = models.CharField(max_length=10, choices=EMOTION_CHOICES, unique=True)
    valence = models.FloatField(validators=_on_the_map(), help_text="0 (sad) to 1 (happy).")
    energy = models.FloatField(validators=_on_the_map(), help_text="0 (calm) to 1 (energetic).")

    class Meta:
        ordering = ["emotion"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valence__gte=0, valence__lte=1, energy__gte=0, energy__lte=1),
                name="emotion_place_on_the_map",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.emotion} at valence {self.valence:.2f}, energy {self.energy:.2f}"


class StrategyMove(models.Model):
    """How far a strategy moves a reading's point on the mood map (its direction is the strategy's own).

    Lift moves toward positive valence, calm toward low energy, match stays
    (recommendations.mood_map.STRATEGY_DIRECTIONS).
    """

    strategy = models.CharField(max_length=10, choices=Strategy.choices, unique=True)
    amount = models.FloatField(
        validators=[
            MinValueValidator(0.0, message="A move runs from 0 (stay) to 1 (across the whole map)."),
            MaxValueValidator(1.0, message="A move runs from 0 (stay) to 1 (across the whole map)."),
        ],
        help_text="0 stays; 1 crosses the whole map.",
    )

    class Meta:
        ordering = ["strategy"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0, amount__lte=1), name="strategy_move_range"),
        ]

    def __str__(self) -> str:
        return f"{self.strategy} moves {self.amount:.2f}"

    def clean(self) -> None:
        if self.strategy == Strategy.MATCH and self.amount:
            raise ValidationError({"amount": "Match my mood keeps the reading where it is: its move is 0."})


class Rating(models.Model):
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="ratings")
    song = models.ForeignKey(Song, on_delete=models.CASCADE, related_name="ratings")
    score = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    # Ratings are about songs: deleting the selfie keeps them, unlinked
    # (services.ratings_detach_from settles a clash with a rating made without one).
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


class ExcludedGenre(models.Model):
    """A genre the user left out in their profile: no list of theirs holds its songs.

    It lives here, not on the user, because only this app knows both the users and the catalog's genres
    it is checked against (recommendations.services.excluded_genres_set).
    """

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="excluded_genres")
    # As the recommender compares genres: trimmed and lower case (recommendations.engine.genre_key).
    genre = models.CharField(max_length=100)

    class Meta:
        ordering = ["genre"]
        constraints = [
            models.UniqueConstraint(fields=["user", "genre"], name="excluded_genre_unique_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} leaves out {self.genre}"
