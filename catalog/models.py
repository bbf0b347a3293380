import math
import re
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower

from catalog.schema import UNIT_INTERVAL_FEATURES


class Mood(models.Model):
    name = models.CharField(max_length=40, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # Songs and API clients name moods in any case ("happy", "Happy").
            models.UniqueConstraint(
                Lower("name"),
                name="mood_name_case_insensitive_unique",
                violation_error_message="That mood already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


def validate_finite(value: float) -> None:
    # NaN slips past the range validators (every comparison with it is False).
    if not math.isfinite(value):
        raise ValidationError("Enter a finite number.", code="not_finite")


_RELEASE_DATE = re.compile(r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2}))?)?$")


def release_year_of(release_date: str) -> int | None:
    """The year of a Spotify release date ("1982-10-27", "1966-03" or "1993"), None if it is not one."""
    match = _RELEASE_DATE.match(release_date)
    if match is None:
        return None
    year = int(match["year"])
    try:
        date(year, int(match["month"] or 1), int(match["day"] or 1))
    except ValueError:
        return None
    return year


def validate_release_date(value: str) -> None:
    if release_year_of(value) is None:
        raise ValidationError(
            "Enter the release date as YYYY-MM-DD, YYYY-MM or YYYY (for example 1982-10-27, 1966-03 or 1993).",
            code="invalid_release_date",
        )


# Spotify's track ids: 22 base-62 characters. The id goes into links and playlist files, so nothing else
# ("../../user", "x?autoplay=1#frag") may pass for one.
validate_spotify_id = RegexValidator(
    r"^[0-9A-Za-z]{22}\Z",
    message="Enter Spotify's track id: 22 letters and digits, as in open.spotify.com/track/2H7PHVdQ3mXqEHXcvclTB0.",
    code="invalid_spotify_id",
)

# Bidi controls (U+202A-U+202E, U+2066-U+2069) reorder the text around them ("Evil\u202egnp.exe" shows as
# "Evilexe.png"), and zero-width characters (U+200B-U+200D, U+2060, U+FEFF) hide inside a name: a song's
# name, artist and album must read as they are shown.
HIDDEN_CHARACTERS = re.compile("[\u202a-\u202e\u2066-\u2069\u200b-\u200d\u2060\ufeff]")


def hidden_characters_removed(text: str) -> str:
    return HIDDEN_CHARACTERS.sub("", text)


def validate_no_hidden_characters(value: str) -> None:
    if found := HIDDEN_CHARACTERS.search(value):
        raise ValidationError(
            f"Remove the invisible character U+{ord(found.group()):04X}: direction controls and zero-width "
            "characters change how the text reads without showing.",
            code="hidden_characters",
        )


def _unit_interval() -> list:
    return [validate_finite, MinValueValidator(0.0), MaxValueValidator(1.0)]


class Song(models.Model):
    spotify_id = models.CharField(max_length=64, unique=True, validators=[validate_spotify_id])
    name = models.CharField(max_length=300, validators=[validate_no_hidden_characters])
    album = models.CharField(max_length=300, blank=True, validators=[validate_no_hidden_characters])
    artist = models.CharField(max_length=300, blank=True, validators=[validate_no_hidden_characters])
    # Spotify gives dates at day, month or year precision ("1982-10-27",
    # "1966-03", "1993"); the text is kept as given and the year is derived
    # for filters and display.
    release_date = models.CharField(max_length=10, blank=True, validators=[validate_release_date])
    release_year = models.PositiveSmallIntegerField(null=True, blank=True, db_index=True)
    popularity = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    length_ms = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    danceability = models.FloatField(validators=_unit_interval())
    acousticness = models.FloatField(validators=_unit_interval())
    energy = models.FloatField(validators=_unit_interval())
    instrumentalness = models.FloatField(validators=_unit_interval())
    liveness = models.FloatField(validators=_unit_interval())
    valence = models.FloatField(validators=_unit_interval())
    loudness = models.FloatField(validators=[validate_finite])
    speechiness = models.FloatField(validators=_unit_interval())
    tempo = models.FloatField(validators=[validate_finite, MinValueValidator(0.001)])
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
            models.CheckConstraint(condition=models.Q(length_ms__gte=1), name="song_length_positive"),
            *(
                models.CheckConstraint(
                    condition=models.Q(**{f"{feature}__gte": 0, f"{feature}__lte": 1}), name=f"song_{feature}_range"
                )
                for feature in UNIT_INTERVAL_FEATURES
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} — {self.artist}" if self.artist else self.name

    @property
    def spotify_url(self) -> str:
        return f"https://open.spotify.com/track/{self.spotify_id}"
