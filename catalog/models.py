import math
import re
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower

from catalog.schema import UNIT_INTERVAL_FEATURES


def _on_the_map() -> list:
    return [
        MinValueValidator(0.0, message="Points on the mood map run from 0 to 1."),
        MaxValueValidator(1.0, message="Points on the mood map run from 0 to 1."),
    ]


class Mood(models.Model):
    """A mood songs are labelled with, and its region of the valence x energy plane (catalog.mood_regions).

    The region's centre is the mean valence and energy of the songs labelled with the mood, unless admins
    set one here (both or neither). The checks that keep two regions apart need the other moods' centres,
    so they run in the admin's form (catalog.selectors.mood_region_problems).
    """

    name = models.CharField(max_length=40, unique=True)
    description = models.TextField(blank=True)
    centre_valence = models.FloatField(
        null=True, blank=True, validators=_on_the_map(), help_text="0 (sad) to 1 (happy)."
    )
    centre_energy = models.FloatField(
        null=True, blank=True, validators=_on_the_map(), help_text="0 (calm) to 1 (energetic)."
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(centre_valence__isnull=True, centre_energy__isnull=True)
                    | models.Q(centre_valence__gte=0, centre_valence__lte=1, centre_energy__gte=0, centre_energy__lte=1)
                ),
                name="mood_centre_on_the_map",
                violation_error_message="Set both the centre's valence and energy, each from 0 to 1, or neither.",
            ),
            # Songs and API clients name moods in any case ("happy", "Happy").
            models.UniqueConstraint(
                Lower("name"),
                name="mood_name_case_insensitive_unique",
                violation_error_message="That mood already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if (self.centre_valence is None) != (self.centre_energy is None):
            missing = "centre_energy" if self.centre_energy is None else "centre_valence"
            raise ValidationError({missing: "Set both the centre's valence and energy, or clear both."})


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
    # None: unknown. Spotify's own files give it, but catalogs built from playlists (the 28,000-song
    # TidyTuesday file) leave it out, and no beats per bar are guessed for them.
    time_signature = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(7)]
    )
    mood = models.ForeignKey(Mood, null=True, blank=True, on_delete=models.SET_NULL, related_name="songs")
    # True when the mood was filled in from the mood map's regions (catalog.mood_regions) rather than given.
    mood_predicted = models.BooleanField(default=False)
    genre = models.CharField(max_length=100, blank=True, db_index=True)
    # A kind of its genre ("dance pop" in "pop"), where the source file names one.
    subgenre = models.CharField(max_length=100, blank=True)
    # Indexed: the recommender's cache asks for the latest change (MAX) and must not scan the catalog for it.
    updated = models.DateTimeField(auto_now=True, db_index=True)

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
