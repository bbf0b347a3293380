from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

AUDIO_FEATURES = (
    "danceability",
    "acousticness",
    "energy",
    "instrumentalness",
    "liveness",
    "valence",
    "speechiness",
)


class Mood(models.Model):
    name = models.CharField(max_length=40, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def _unit_interval() -> list:
    return [MinValueValidator(0.0), MaxValueValidator(1.0)]


class Song(models.Model):
    spotify_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=300)
    album = models.CharField(max_length=300, blank=True)
    artist = models.CharField(max_length=300, blank=True)
    # Spotify gives dates at day, month or year precision ("1982-10-27",
    # "1966-03", "1993"); the text is kept as given and the year is derived
    # for filters and display.
    release_date = models.CharField(max_length=10, blank=True)
    release_year = models.PositiveSmallIntegerField(null=True, blank=True, db_index=True)
    popularity = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    length_ms = models.PositiveIntegerField()
    danceability = models.FloatField(validators=_unit_interval())
    acousticness = models.FloatField(validators=_unit_interval())
    energy = models.FloatField(validators=_unit_interval())
    instrumentalness = models.FloatField(validators=_unit_interval())
    liveness = models.FloatField(validators=_unit_interval())
    valence = models.FloatField(validators=_unit_interval())
    loudness = models.FloatField()
    speechiness = models.FloatField(validators=_unit_interval())
    tempo = models.FloatField(validators=[MinValueValidator(0.001)])
    key = models.SmallIntegerField(validators=[MinValueValidator(-1), MaxValueValidator(11)])
    time_signature = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(7)])
    mood = models.ForeignKey(Mood, null=True, blank=True, on_delete=models.SET_NULL, related_name="songs")
    # True when the mood was filled in by the mood classifier rather than given.
    mood_predicted = models.BooleanField(default=False)
    genre = models.CharField(max_length=100, blank=True, db_index=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(popularity__lte=100), name="song_popularity_range"),
            models.CheckConstraint(condition=models.Q(key__gte=-1, key__lte=11), name="song_key_range"),
            models.CheckConstraint(
                condition=models.Q(time_signature__gte=1, time_signature__lte=7), name="song_time_signature_range"
            ),
            models.CheckConstraint(condition=models.Q(tempo__gt=0), name="song_tempo_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} — {self.artist}" if self.artist else self.name

    @property
    def spotify_url(self) -> str:
        return f"https://open.spotify.com/track/{self.spotify_id}"
