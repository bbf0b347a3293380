"""Writes to the song catalog: the CSV importer and the staff edits.

Every path that writes a song (the importer, the admin, the API) ends in
``_song_validate``, so a value the importer refuses is refused everywhere.
"""

import csv
import io
import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pandas as pd
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import AUDIO_FEATURES, KAGGLE_COLUMNS, Mood, Song, release_year_of
from catalog.spreadsheet import unescape_cell

OPTIONAL_COLUMNS = frozenset({"mood", "genre"})
REQUIRED_COLUMNS = tuple(column for column in KAGGLE_COLUMNS if column not in OPTIONAL_COLUMNS)
GENRE_COLUMNS = ("id", "genre")

FLOAT_COLUMNS = (*AUDIO_FEATURES, "loudness", "tempo")
INTEGER_COLUMNS = {"popularity": "popularity", "length": "length_ms", "key": "key", "time_signature": "time_signature"}
TEXT_COLUMNS = {
    "id": "spotify_id",
    "name": "name",
    "album": "album",
    "artist": "artist",
    "release_date": "release_date",
}

# The fields an import compares to decide whether a known song changed.
COMPARED_FIELDS = (
    "name",
    "album",
    "artist",
    "release_date",
    "release_year",
    "popularity",
    "length_ms",
    *FLOAT_COLUMNS,
    "key",
    "time_signature",
)

# Marks a row pandas found too long: the row keeps its place so that the
# line numbers of the rows after it stay right.
_TOO_MANY_FIELDS = "\x00too-many-fields:"

CsvSource = str | Path | bytes | IO[bytes] | IO[str]


@dataclass(frozen=True)
class SkippedRow:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[SkippedRow] = field(default_factory=list)
    moods_created: list[str] = field(default_factory=list)

    @property
    def imported(self) -> int:
        """Rows that passed validation, whether or not they changed anything."""
        return self.created + self.updated + self.unchanged

    def summary(self) -> str:
        text = (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, {len(self.skipped)} skipped."
        )
        if self.moods_created:
            text += f" New moods: {', '.join(self.moods_created)}."
        return text


# --- Reading files ------------------------------------------------------------


def _read_text(source: CsvSource, *, what: str) -> str:
    if isinstance(source, str | Path):
        try:
            raw: bytes | str = Path(source).read_bytes()
        except OSError as error:
            raise ValidationError(f"Cannot read the {what} {source}: {error.strerror or error}.") from error
    elif isinstance(source, bytes):
        raw = source
    else:
        if hasattr(source, "seek"):
            source.seek(0)
        raw = source.read()
    if isinstance(raw, str):
        return raw
    try:
        # utf-8-sig: spreadsheets often save CSV with a byte-order mark.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationError(f"The {what} is not a UTF-8 text file; save it as CSV (UTF-8) and try again.") from error


def _mark_too_long(fields: list[str]) -> list[str]:
    newlines = sum(value.count("\n") for value in fields)
    return [f"{_TOO_MANY_FIELDS}{len(fields)}:{newlines}"]


@dataclass
class CsvTable:
    columns: list[str]
    # (line number as a person counts it, the row by lower-case column name); blank lines left out.
    rows: list[tuple[int, dict[str, str]]]


def _read_table(source: CsvSource, *, what: str, required: Iterable[str]) -> CsvTable:
    text = _read_text(source, what=what)
    # pandas drops blank lines before the header, which would shift every
    # line number after them, so they are counted and removed here.
    lines = text.splitlines(keepends=True)
    leading_blank = next((index for index, line in enumerate(lines) if line.strip()), len(lines))
    if leading_blank == len(lines):
        raise ValidationError(f"The {what} is empty.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO("".join(lines[leading_blank:])),
                # The header is read as a row too: with header=None pandas keeps
                # the blank lines that follow it, so each row knows its line.
                header=None,
                dtype=str,
                keep_default_na=False,
                skip_blank_lines=False,
                engine="python",
                on_bad_lines=_mark_too_long,
            )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error, ValueError) as error:
        raise ValidationError(f"The {what} is not a readable CSV file ({error}).") from error
    records = frame.fillna("").astype(str).values.tolist()
    header = records[0]
    columns = [column.strip().lower() for column in header]
    missing = [column for column in required if column not in columns]
    if missing:
        raise ValidationError(
            f"The {what} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}. "
            f"Its first line must name the columns: {', '.join(required)}."
        )

    rows: list[tuple[int, dict[str, str]]] = []
    line = leading_blank + 1 + 1 + sum(value.count("\n") for value in header)
    for values in records[1:]:
        if values[0].startswith(_TOO_MANY_FIELDS):
            count, newlines = values[0].removeprefix(_TOO_MANY_FIELDS).split(":")
            rows.append((line, {"__too_many_fields__": count}))
            line += 1 + int(newlines)
            continue
        if any(value.strip() for value in values):
            rows.append((line, dict(zip(columns, values, strict=True))))
        line += 1 + sum(value.count("\n") for value in values)
    return CsvTable(columns=columns, rows=rows)


# --- Parsing and validating one row -------------------------------------------


def _parse_float(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError
    return value


def _parse_integer(raw: str) -> int:
    value = float(raw)
    if not value.is_integer():
        raise ValueError
    return int(value)


def _parse_row(row: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    values: dict[str, Any] = {}
    problems: list[str] = []
    for column, field_name in TEXT_COLUMNS.items():
        values[field_name] = unescape_cell(row[column].strip())
    for column in ("id", "name"):
        if not values[TEXT_COLUMNS[column]]:
            problems.append(f"{column} is empty.")
    for column in FLOAT_COLUMNS:
        raw = row[column].strip()
        try:
            values[column] = _parse_float(raw)
        except ValueError:
            problems.append(f"{column} must be a number, not {raw!r}." if raw else f"{column} is empty.")
    for column, field_name in INTEGER_COLUMNS.items():
        raw = row[column].strip()
        try:
            values[field_name] = _parse_integer(raw)
        except (ValueError, OverflowError):
            problems.append(f"{column} must be a whole number, not {raw!r}." if raw else f"{column} is empty.")
    return values, problems


def _describe(error: ValidationError) -> str:
    column_of = {field_name: column for column, field_name in {**TEXT_COLUMNS, **INTEGER_COLUMNS}.items()}
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    parts = []
    for field_name, messages in error.message_dict.items():
        label = column_of.get(field_name, field_name)
        for message in messages:
            parts.append(message if field_name == "__all__" else f"{label}: {message}")
    return " ".join(parts)


def _song_validate(song: Song, *, exclude: Iterable[str] = (), validate_unique: bool = True) -> None:
    """The one validation every written song passes: the model's field validators and uniqueness.

    Each of Song's check constraints repeats a field validator, and checking
    them in Python costs a query apiece (twelve per song, most of an import's
    time), so they are left to the database, which still enforces them.
    """
    song.release_year = release_year_of(song.release_date) if song.release_date else None
    song.full_clean(exclude=list(exclude) or None, validate_unique=validate_unique, validate_constraints=False)


# --- Moods ---------------------------------------------------------------------


def mood_get_or_create(*, name: str) -> tuple[Mood, bool]:
    """The mood of that name in any case ("happy" finds "Happy"); created when new."""
    name = " ".join(name.split())
    existing = Mood.objects.filter(name__iexact=name).first()
    if existing is not None:
        return existing, False
    mood = Mood(name=name)
    mood.full_clean()
    mood.save()
    return mood, True


def mood_by_name(*, name: str) -> Mood:
    """The existing mood of that name in any case; a ValidationError naming the known moods otherwise."""
    mood = Mood.objects.filter(name__iexact=name.strip()).first()
    if mood is None:
        known = ", ".join(Mood.objects.values_list("name", flat=True)) or "none yet"
        raise ValidationError({"mood": f"There is no mood named {name!r}. Known moods: {known}."})
    return mood


# --- The importer ----------------------------------------------------------------


def _genres_from(genres_file: CsvSource) -> dict[str, str]:
    table = _read_table(genres_file, what="genres file", required=GENRE_COLUMNS)
    genres: dict[str, str] = {}
    for _, row in table.rows:
        spotify_id = row.get("id", "").strip()
        if spotify_id:
            genres[spotify_id] = unescape_cell(row["genre"].strip())
    return genres


def songs_import(*, csv_file: CsvSource, genres_file: CsvSource | None = None) -> ImportReport:
    """Upsert songs from a Kaggle-style CSV, keyed by Spotify id.

    Every row is validated; a bad row is skipped and reported by its line
    number and reason, and the rest are imported. A row equal to the stored
    song counts as unchanged, so importing the same file twice changes
    nothing. A mood not yet known is created; an empty mood leaves the song
    without one (a mood the classifier predicted is kept). Extra columns are
    ignored. Raises ValidationError when the file itself is unusable (not a
    readable CSV, a required column missing).
    """
    table = _read_table(csv_file, what="CSV file", required=REQUIRED_COLUMNS)
    genres = _genres_from(genres_file) if genres_file is not None else {}
    has_mood = "mood" in table.columns
    has_genre = "genre" in table.columns
    report = ImportReport()

    rows = table.rows
    ids = [unescape_cell(row.get("id", "").strip()) for _, row in rows]
    existing: dict[str, Song] = {}
    # In chunks: SQLite caps the number of parameters in one query.
    for start in range(0, len(ids), 500):
        chunk = Song.objects.filter(spotify_id__in=ids[start : start + 500]).select_related("mood")
        existing.update((song.spotify_id, song) for song in chunk)
    moods = {mood.name.lower(): mood for mood in Mood.objects.all()}
    first_line_of: dict[str, int] = {}

    with transaction.atomic():
        for line, row in rows:
            if "__too_many_fields__" in row:
                reason = (
                    f"It has {row['__too_many_fields__']} fields but the header names {len(table.columns)} columns."
                )
                report.skipped.append(SkippedRow(line, reason))
                continue
            values, problems = _parse_row(row)
            spotify_id = values["spotify_id"]
            if spotify_id in first_line_of:
                problems.append(f"The Spotify id {spotify_id} already appeared on line {first_line_of[spotify_id]}.")
            if problems:
                problems.extend(_other_problems(values))
                report.skipped.append(SkippedRow(line, " ".join(problems)))
                continue

            song = existing.get(spotify_id) or Song(spotify_id=spotify_id)
            before = {name: getattr(song, name) for name in (*COMPARED_FIELDS, "mood_id", "genre", "mood_predicted")}
            for name, value in values.items():
                setattr(song, name, value)
            mood_name = unescape_cell(" ".join(row["mood"].split())) if has_mood else ""
            new_mood = None
            if mood_name:
                mood = moods.get(mood_name.lower())
                if mood is None:
                    mood = Mood(name=mood_name)
                    try:
                        mood.full_clean()
                    except ValidationError as error:
                        report.skipped.append(SkippedRow(line, f"mood: {_describe(error)}"))
                        _restore(song, before)
                        continue
                    new_mood = mood
                song.mood = mood
                song.mood_predicted = False
            elif has_mood and not song.mood_predicted:
                song.mood = None
            if spotify_id in genres:
                song.genre = genres[spotify_id]
            elif has_genre:
                song.genre = unescape_cell(row["genre"].strip())

            try:
                if new_mood is not None:
                    # Saved before the song's validation only so the foreign key can point at it;
                    # the savepoint undoes it if the song is refused.
                    with transaction.atomic():
                        new_mood.save()
                        song.mood = new_mood
                        _song_validate(song)
                else:
                    _song_validate(song)
            except ValidationError as error:
                report.skipped.append(SkippedRow(line, _describe(error)))
                _restore(song, before)
                continue
            if new_mood is not None:
                moods[new_mood.name.lower()] = new_mood
                report.moods_created.append(new_mood.name)
            first_line_of[spotify_id] = line

            if song.pk is None:
                song.save()
                existing[spotify_id] = song
                report.created += 1
            elif any(getattr(song, name) != value for name, value in before.items()):
                song.save()
                report.updated += 1
            else:
                report.unchanged += 1
    return report


def _other_problems(values: Mapping[str, Any]) -> list[str]:
    """What the model says about the values that did parse, so one report names every problem of a row."""
    candidate = Song(**values)
    parsed = {name for name, value in values.items() if value not in (None, "")}
    unparsed = [song_field.name for song_field in Song._meta.fields if song_field.name not in parsed]
    try:
        # Not uniqueness: the row is already refused, and a known id is an update, not a clash.
        _song_validate(candidate, exclude=unparsed, validate_unique=False)
    except ValidationError as error:
        return [_describe(error)]
    return []


def _restore(song: Song, values: Mapping[str, Any]) -> None:
    # A refused row must not leave its values on a cached song that a later
    # row with the same id would compare against.
    for name, value in values.items():
        setattr(song, name, value)


# --- Staff edits (admin and API) ---------------------------------------------------

SONG_WRITABLE_FIELDS = (
    "spotify_id",
    "name",
    "album",
    "artist",
    "release_date",
    "popularity",
    "length_ms",
    *FLOAT_COLUMNS,
    "key",
    "time_signature",
    "genre",
)


def _song_apply(song: Song, data: Mapping[str, Any]) -> None:
    unknown = set(data) - {*SONG_WRITABLE_FIELDS, "mood"}
    if unknown:
        raise ValidationError(f"Unknown song fields: {', '.join(sorted(unknown))}.")
    for name, value in data.items():
        if name == "mood":
            song.mood = None if value in (None, "") else mood_by_name(name=value)
            song.mood_predicted = False
        else:
            setattr(song, name, value.strip() if isinstance(value, str) else value)


def song_save(*, song: Song) -> Song:
    """Validate (the importer's rules) and save a song whose fields were set by the caller (the admin form)."""
    _song_validate(song)
    try:
        with transaction.atomic():
            song.save()
    except IntegrityError as error:
        # Two writers raced past full_clean's uniqueness check.
        raise ValidationError({"spotify_id": "A song with this Spotify id already exists."}) from error
    return song


def song_create(*, data: Mapping[str, Any]) -> Song:
    song = Song()
    _song_apply(song, data)
    return song_save(song=song)


def song_update(*, song: Song, data: Mapping[str, Any]) -> Song:
    _song_apply(song, data)
    return song_save(song=song)


def song_delete(*, song: Song) -> None:
    song.delete()


def songs_set_mood(*, songs: Iterable[Song], mood: Mood | None) -> int:
    """Give the songs a mood chosen by a person (it replaces any predicted one); returns how many."""
    ids = [song.pk for song in songs]
    return Song.objects.filter(pk__in=ids).update(mood=mood, mood_predicted=False, updated=timezone.now())
