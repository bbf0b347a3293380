"""Writes to the song catalog: the CSV importer, the moods the classifier fills in, and the staff edits.

Every path that writes a song (the importer, the admin, the API) ends in
``_song_validate``, so a value the importer refuses is refused everywhere.
"""

import copy
import csv
import io
import logging
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog import mood_classifier
from catalog.models import Mood, Song, release_year_of
from catalog.schema import AUDIO_FEATURES, FIELD_OF_COLUMN, KAGGLE_COLUMNS, MOOD_CLASSIFIER_FEATURES, SONG_FIELDS
from catalog.signals import songs_changed_send
from catalog.spreadsheet import unescape_cell

logger = logging.getLogger(__name__)

OPTIONAL_COLUMNS = frozenset({"mood", "genre"})
REQUIRED_COLUMNS = tuple(column for column in KAGGLE_COLUMNS if column not in OPTIONAL_COLUMNS)
GENRE_COLUMNS = ("id", "genre")

FLOAT_COLUMNS = AUDIO_FEATURES
INTEGER_COLUMNS = ("popularity", "length", "key", "time_signature")
TEXT_COLUMNS = ("id", "name", "album", "artist", "release_date")

# The fields an import compares to decide whether a known song changed.
COMPARED_FIELDS = (*(name for name in SONG_FIELDS if name != "spotify_id"), "release_year", "mood_id", "genre")
LABEL_FIELDS = ("mood", "mood_predicted", "genre")

# Rows validated together, then written in one transaction. SQLite lets one
# writer in at a time: a rating posted during a 100,000-row import waits for
# one batch's inserts (milliseconds), not for the whole file.
IMPORT_BATCH_ROWS = 500
# The csv module refuses a longer cell (its default limit, in characters).
CELL_LIMIT = csv.field_size_limit()

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
    # Songs still without a mood after the import, and how many of them the classifier labelled.
    moods_missing: int = 0
    moods_filled: int = 0
    moods_filled_by: str = ""  # the classifier that filled them, and its cross-validated accuracy

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
        if self.moods_filled:
            text += f" Filled the missing mood of {_songs(self.moods_filled)} with the {self.moods_filled_by}."
        elif self.moods_missing:
            text += (
                f" {_songs(self.moods_missing)} without a mood kept none: the mood classifier needs at least "
                "five songs of each of two moods to learn from."
            )
        return text


def _songs(count: int) -> str:
    return f"{count} song{'s' if count != 1 else ''}"


# --- Reading a CSV file: one record per row, with the line it starts on ---------


@dataclass(frozen=True)
class CsvRecord:
    line: int  # where the row starts, as a person counts lines
    cells: dict[str, str]  # by lower-case column name; empty when the row could not be read
    problem: str = ""  # why the row cannot be imported as it stands


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


def _read_table(source: CsvSource, *, what: str, required: Iterable[str]) -> tuple[list[str], Iterator[CsvRecord]]:
    """The file's columns (checked now) and its rows (read as they are asked for)."""
    # strict: a stray quote is a problem to report, not something to guess around.
    reader = csv.reader(io.StringIO(_read_text(source, what=what), newline=""), strict=True)
    columns = _header(reader, what=what, required=required)
    return columns, _records(reader, columns)


def _header(reader: Any, *, what: str, required: Iterable[str]) -> list[str]:
    try:
        header = next((cells for cells in reader if any(cell.strip() for cell in cells)), None)
    except csv.Error as error:
        raise ValidationError(f"The {what} is not a readable CSV file ({error}).") from error
    if header is None:
        raise ValidationError(f"The {what} is empty.")
    columns = [column.strip().lower() for column in header]
    missing = [column for column in required if column not in columns]
    if missing:
        raise ValidationError(
            f"The {what} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}. "
            f"Its first line must name the columns: {', '.join(required)}."
        )
    return columns


def _records(reader: Any, columns: list[str]) -> Iterator[CsvRecord]:
    """Every row after the header; blank lines are not rows. `line_num` counts the lines read so far."""
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield CsvRecord(start, {}, _unreadable(error, start=start, end=reader.line_num))
            continue
        if any(cell.strip() for cell in cells):
            yield CsvRecord(start, dict(zip(columns, cells, strict=False)), _shape_problem(cells, columns))


def _unreadable(error: csv.Error, *, start: int, end: int) -> str:
    message = str(error)
    if "field larger than field limit" in message:
        return f"A cell is longer than {CELL_LIMIT // 1024} KiB, the most a cell may hold."
    if "unexpected end of data" in message:
        return (
            f"A quote opened on line {start} is never closed, so everything from there to the end of the file "
            f"(line {end}) was read as one cell."
        )
    if "expected after" in message:
        return 'A quote inside a cell must be doubled ("") in a cell that is itself quoted.'
    return f"It is not valid CSV ({message})."


def _shape_problem(cells: list[str], columns: list[str]) -> str:
    # Fewer cells than columns is fine: the missing ones read as empty, and empty required ones are named.
    if len(cells) > len(columns):
        return f"It has {len(cells)} fields but the header names {len(columns)} columns."
    if any("\x00" in cell for cell in cells):
        return "It holds a NUL character (a zero byte), which no song's text may contain."
    return ""


def _batches(records: Iterable[CsvRecord], size: int) -> Iterator[list[CsvRecord]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


# --- Parsing and validating one row -------------------------------------------


def _cell(cells: Mapping[str, str], column: str) -> str:
    return cells.get(column, "").strip()


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


def _parse_row(cells: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The song's fields from a row's cells, and what is wrong with them."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for column in TEXT_COLUMNS:
        values[FIELD_OF_COLUMN.get(column, column)] = unescape_cell(_cell(cells, column))
    for column in ("id", "name"):
        if not values[FIELD_OF_COLUMN.get(column, column)]:
            problems.append(f"{column} is empty.")
    for column, parse, kind in (
        *((column, _parse_float, "a number") for column in FLOAT_COLUMNS),
        *((column, _parse_integer, "a whole number") for column in INTEGER_COLUMNS),
    ):
        raw = _cell(cells, column)
        try:
            values[FIELD_OF_COLUMN.get(column, column)] = parse(raw)
        except (ValueError, OverflowError):
            problems.append(f"{column} must be {kind}, not {raw!r}." if raw else f"{column} is empty.")
    return values, problems


def _describe(error: ValidationError) -> str:
    column_of = {field_name: column for column, field_name in FIELD_OF_COLUMN.items()}
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


# --- Moods ---------------------------------------------------------------------


def mood_by_name(*, name: str) -> Mood:
    """The existing mood of that name in any case; a ValidationError naming the known moods otherwise."""
    mood = Mood.objects.filter(name__iexact=name.strip()).first()
    if mood is None:
        known = ", ".join(Mood.objects.values_list("name", flat=True)) or "none yet"
        raise ValidationError({"mood": f"There is no mood named {name!r}. Known moods: {known}."})
    return mood


def mood_classifier_train() -> mood_classifier.TrainedClassifier | None:
    """Train on the songs whose mood was given (not predicted)."""
    labelled = Song.objects.filter(mood__isnull=False, mood_predicted=False)
    rows = list(labelled.values_list("mood__name", *MOOD_CLASSIFIER_FEATURES))
    if not rows:
        return None
    labels = np.array([row[0] for row in rows])
    features = np.array([row[1:] for row in rows], dtype=np.float64)
    return mood_classifier.train(features, labels)


def moods_fill_missing(
    *, refresh: bool = False, always_train: bool = False
) -> tuple[int, mood_classifier.TrainedClassifier | None]:
    """Give every song without a mood the one the classifier predicts; returns (songs labelled, classifier).

    With refresh, songs labelled by an earlier run are predicted again (the
    classifier may have learned from new labelled songs since). With
    always_train the classifier is trained (and returned) even when no song
    needs it, for its accuracy report.
    """
    unlabelled = Song.objects.filter(mood__isnull=True)
    if refresh:
        unlabelled = Song.objects.filter(mood__isnull=True) | Song.objects.filter(mood_predicted=True)
    if not unlabelled.exists() and not always_train:
        return 0, None
    classifier = mood_classifier_train()
    if classifier is None:
        logger.warning("No mood classifier: the catalog needs labelled songs of at least two moods.")
        return 0, None
    moods = {mood.name: mood for mood in Mood.objects.filter(name__in=classifier.classes)}
    songs = list(unlabelled.only("id", "mood", "mood_predicted", *MOOD_CLASSIFIER_FEATURES))
    now = timezone.now()
    for start in range(0, len(songs), IMPORT_BATCH_ROWS):
        batch = songs[start : start + IMPORT_BATCH_ROWS]
        features = np.array([[getattr(song, name) for name in MOOD_CLASSIFIER_FEATURES] for song in batch], dtype=float)
        for song, label in zip(batch, classifier.predict(features), strict=True):
            song.mood = moods[str(label)]
            song.mood_predicted = True
            # bulk_update skips auto_now; the recommender's cache watches `updated`.
            song.updated = now
        with transaction.atomic():
            Song.objects.bulk_update(batch, ["mood", "mood_predicted", "updated"])
            songs_changed_send()
    if songs:
        logger.info("The mood classifier (%s) labelled %d songs.", classifier.name, len(songs))
    return len(songs), classifier


# --- The importer ----------------------------------------------------------------


@dataclass
class _ImportRun:
    """What the batches of one import share: the file's shape, the moods known so far, the ids seen."""

    columns: list[str]
    genres: dict[str, str]
    moods: dict[str, Mood]  # by lower-case name, the moods this import creates included
    report: ImportReport
    first_line_of: dict[str, int] = field(default_factory=dict)
    moods_to_create: list[Mood] = field(default_factory=list)  # saved with the next batch's songs


def songs_import(*, csv_file: CsvSource, genres_file: CsvSource | None = None) -> ImportReport:
    """Upsert songs from a Kaggle-style CSV, keyed by Spotify id, then fill the moods still missing.

    Every row read is either imported or listed as skipped with its line and
    reason. A row equal to the stored song counts as unchanged, so importing
    the same file twice changes nothing. A mood not yet known is created; an
    empty mood leaves the song without one (a mood the classifier predicted
    is kept) until the mood classifier fills it, at the end. Extra columns are
    ignored. Raises ValidationError when the file itself is unusable (not a
    readable CSV, a required column missing), before anything is written.

    Rows are read and validated IMPORT_BATCH_ROWS at a time outside any
    transaction, and each batch is then written in one short transaction:
    SQLite lets one writer in at a time, and a rating posted meanwhile waits
    for one batch's inserts, not for the whole file. An import cut short
    keeps the batches before; running it again completes it.
    """
    columns, records = _read_table(csv_file, what="CSV file", required=REQUIRED_COLUMNS)
    report = ImportReport()
    genres = _genres_from(genres_file, report) if genres_file is not None else {}
    run = _ImportRun(
        columns=columns,
        genres=genres,
        moods={mood.name.lower(): mood for mood in Mood.objects.all()},
        report=report,
    )
    for batch in _batches(records, IMPORT_BATCH_ROWS):
        _import_batch(batch, run)
    _fill_missing_moods(report)
    return report


def _genres_from(genres_file: CsvSource, report: ImportReport) -> dict[str, str]:
    _, records = _read_table(genres_file, what="genres file", required=GENRE_COLUMNS)
    genres: dict[str, str] = {}
    for record in records:
        if record.problem:
            report.skipped.append(SkippedRow(record.line, f"In the genres file: {record.problem}"))
        elif spotify_id := unescape_cell(_cell(record.cells, "id")):
            genres[spotify_id] = unescape_cell(_cell(record.cells, "genre"))
    return genres


def _import_batch(records: list[CsvRecord], run: _ImportRun) -> None:
    stored = _songs_by_spotify_id([unescape_cell(_cell(record.cells, "id")) for record in records])
    created: list[Song] = []
    changed: list[Song] = []
    for record in records:
        song = _song_from_record(record, run, stored)
        if song is None:
            continue
        if song.spotify_id not in stored:
            created.append(song)
        elif _song_differs(song, stored[song.spotify_id]):
            changed.append(song)
        else:
            run.report.unchanged += 1
    _songs_write(created=created, changed=changed, run=run)


def _songs_by_spotify_id(spotify_ids: list[str]) -> dict[str, Song]:
    songs = Song.objects.filter(spotify_id__in=[spotify_id for spotify_id in spotify_ids if spotify_id])
    return {song.spotify_id: song for song in songs}


def _new_mood_of(song: Song) -> Mood | None:
    """The mood this import is about to create for the song, if any (asked without a query)."""
    mood = song.mood if Song.mood.is_cached(song) else None
    return mood if mood is not None and mood.pk is None else None


def _song_differs(song: Song, stored: Song) -> bool:
    if _new_mood_of(song) is not None:
        return True
    return any(getattr(song, name) != getattr(stored, name) for name in (*COMPARED_FIELDS, "mood_predicted"))


def _song_from_record(record: CsvRecord, run: _ImportRun, stored: Mapping[str, Song]) -> Song | None:
    """The song a row describes, validated; None when the row is skipped (and listed in the report)."""
    report = run.report
    if record.problem:
        report.skipped.append(SkippedRow(record.line, record.problem))
        return None
    values, problems = _parse_row(record.cells)
    spotify_id = values["spotify_id"]
    if spotify_id in run.first_line_of:
        problems.append(f"The Spotify id {spotify_id} already appeared on line {run.first_line_of[spotify_id]}.")
    if problems:
        report.skipped.append(SkippedRow(record.line, " ".join([*problems, *_other_problems(values)])))
        return None

    # A copy: a refused row must leave the stored song as the next row with its id will find it.
    song = copy.copy(stored[spotify_id]) if spotify_id in stored else Song()
    for name, value in values.items():
        setattr(song, name, value)
    _song_genre(song, record.cells, run)
    try:
        _song_mood(song, record.cells, run)
        # Not the mood (it was found above, or is created with the batch) nor uniqueness (`stored` has
        # the ids already in the catalog): each would cost a query a row.
        _song_validate(song, exclude=["mood"], validate_unique=False)
    except ValidationError as error:
        report.skipped.append(SkippedRow(record.line, _describe(error)))
        return None
    if (new_mood := _new_mood_of(song)) is not None and new_mood not in run.moods_to_create:
        run.moods_to_create.append(new_mood)
    run.first_line_of[spotify_id] = record.line
    return song


def _song_genre(song: Song, cells: Mapping[str, str], run: _ImportRun) -> None:
    if spotify_genre := run.genres.get(song.spotify_id):
        song.genre = spotify_genre
    elif "genre" in run.columns:
        song.genre = unescape_cell(_cell(cells, "genre"))


def _song_mood(song: Song, cells: Mapping[str, str], run: _ImportRun) -> None:
    """The row's mood, found in any case or made new (saved with the batch); ValidationError for a bad name."""
    if "mood" not in run.columns:
        return
    mood_name = unescape_cell(" ".join(cells.get("mood", "").split()))
    if not mood_name:
        if not song.mood_predicted:
            song.mood = None
        return
    song.mood_predicted = False
    mood = run.moods.get(mood_name.lower())
    if mood is None:
        mood = Mood(name=mood_name)
        try:
            mood.full_clean()
        except ValidationError as error:
            raise ValidationError({"mood": error.messages}) from error
        run.moods[mood_name.lower()] = mood
    song.mood = mood


def _songs_write(*, created: list[Song], changed: list[Song], run: _ImportRun) -> None:
    """One batch's writes, in one short transaction."""
    if not (created or changed):
        return
    now = timezone.now()
    for song in changed:
        # bulk_update skips auto_now; the recommender's cache watches `updated`.
        song.updated = now
    try:
        with transaction.atomic():
            for mood in run.moods_to_create:
                mood.save()
            # The songs hold the new moods themselves; bulk_create and bulk_update take their ids now.
            Song.objects.bulk_create(created)
            Song.objects.bulk_update(changed, [*COMPARED_FIELDS, "mood_predicted", "updated"])
            songs_changed_send()
    except IntegrityError as error:
        # Another writer added one of these ids or moods since this batch looked them up.
        raise ValidationError(
            "Another import of the same songs ran at the same time; import this file again."
        ) from error
    run.report.moods_created.extend(mood.name for mood in run.moods_to_create)
    run.moods_to_create.clear()
    run.report.created += len(created)
    run.report.updated += len(changed)


def _fill_missing_moods(report: ImportReport) -> None:
    report.moods_missing = Song.objects.filter(mood__isnull=True).count()
    if not report.moods_missing:
        return
    filled, classifier = moods_fill_missing()
    if classifier is not None:
        report.moods_filled = filled
        report.moods_filled_by = f"{classifier.name} classifier ({classifier.accuracy:.0%} cross-validated accuracy)"


# --- Staff edits (admin and API) ---------------------------------------------------

SONG_WRITABLE_FIELDS = (*SONG_FIELDS, "genre")


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
    with transaction.atomic():
        count = Song.objects.filter(pk__in=ids).update(mood=mood, mood_predicted=False, updated=timezone.now())
        songs_changed_send()
    return count
