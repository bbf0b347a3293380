"""Writes to the song catalog: the CSV import, the moods the mood map's regions fill in, and the staff edits.

Every path that writes a song (the importer, the admin, the API) ends in
``_song_validate``, so a value the importer refuses is refused everywhere.
Reading a CSV file and its layouts is `catalog.csv_import`'s; the rule that
gives an unlabelled song its mood is `catalog.mood_regions`.
"""

import copy
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog import csv_import, selectors
from catalog.csv_import import CsvLayout, CsvSource, SongRow
from catalog.models import Mood, Song, release_year_of
from catalog.mood_regions import PLANE_FEATURES, RegionRule
from catalog.schema import SONG_FIELDS
from catalog.signals import songs_changed_send

logger = logging.getLogger(__name__)

# The fields an import compares to decide whether a known song changed.
COMPARED_FIELDS = (
    *(name for name in SONG_FIELDS if name != "spotify_id"),
    "release_year",
    "mood_id",
    "genre",
    "subgenre",
)

# Rows validated together, then written in one transaction. SQLite lets one
# writer in at a time: a rating posted during a 100,000-row import waits for
# one batch's inserts (milliseconds), not for the whole file.
IMPORT_BATCH_ROWS = 500


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
    # Later rows of a track already read, in a layout where tracks repeat (a file of playlists).
    repeated: int = 0
    moods_created: list[str] = field(default_factory=list)
    # Songs still without a mood after the import, and how many of them the mood map's regions labelled.
    moods_missing: int = 0
    moods_filled: int = 0
    moods_filled_by: str = ""  # the rule that filled them

    @property
    def imported(self) -> int:
        """Rows that passed validation, whether or not they changed anything."""
        return self.created + self.updated + self.unchanged

    def summary(self) -> str:
        text = (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, {len(self.skipped)} skipped."
        )
        if self.repeated:
            text += (
                f" {self.repeated} later row{'s' if self.repeated != 1 else ''} of a track already read "
                "(in another playlist) passed over: the first row of each track is its song."
            )
        if self.moods_created:
            text += f" New moods: {', '.join(self.moods_created)}."
        if self.moods_filled:
            text += f" Filled the missing mood of {_songs(self.moods_filled)} with the {self.moods_filled_by}."
        elif self.moods_missing:
            text += (
                f" {_songs(self.moods_missing)} without a mood kept none: the mood map's regions need songs "
                "labelled with at least two moods."
            )
        return text


def _songs(count: int) -> str:
    return f"{count} song{'s' if count != 1 else ''}"


# --- The one validation of a song -------------------------------------------------


def _song_validate(song: Song, *, exclude: Iterable[str] = (), validate_unique: bool = True) -> None:
    """The one validation every written song passes: the model's field validators and uniqueness.

    Each of Song's check constraints repeats a field validator, and checking
    them in Python costs a query apiece (twelve per song, most of an import's
    time), so they are left to the database, which still enforces them.
    """
    song.release_year = release_year_of(song.release_date) if song.release_date else None
    song.full_clean(exclude=list(exclude) or None, validate_unique=validate_unique, validate_constraints=False)


def _other_problems(values: Mapping[str, Any], layout: CsvLayout) -> list[str]:
    """What the model says about the values that did parse, so one report names every problem of a row."""
    candidate = Song(**values)
    parsed = {name for name, value in values.items() if value not in (None, "")}
    unparsed = [song_field.name for song_field in Song._meta.fields if song_field.name not in parsed]
    try:
        # Not uniqueness: the row is already refused, and a known id is an update, not a clash.
        _song_validate(candidate, exclude=unparsed, validate_unique=False)
    except ValidationError as error:
        return [csv_import.describe(error, layout)]
    return []


def song_row_problems(*, row: SongRow, layout: CsvLayout) -> list[str]:
    """What keeps a row read from a song file from being a valid song, as the importer names it; [] for none.

    Not whether its Spotify id is taken or repeated: that depends on the catalog and the rest of the file.
    """
    if not row.readable:
        return list(row.problems)
    return [*row.problems, *_other_problems(row.values, layout)]


# --- The importer ----------------------------------------------------------------


@dataclass
class _ImportRun:
    """What the batches of one import share: the file's layout, the moods known so far, the ids seen."""

    layout: CsvLayout
    genres: dict[str, str]
    moods: dict[str, Mood]  # by lower-case name, the moods this import creates included
    report: ImportReport
    first_line_of: dict[str, int] = field(default_factory=dict)
    moods_to_create: list[Mood] = field(default_factory=list)  # saved with the next batch's songs


def songs_import(*, csv_file: CsvSource, genres_file: CsvSource | None = None, fill_moods: bool = True) -> ImportReport:
    """Upsert songs from a song CSV, keyed by Spotify id, then fill the moods still missing.

    The file may come in any layout that `catalog.csv_import` recognises from
    its header. Every row read is either imported or listed as skipped with
    its line and reason. A row equal to the stored song counts as unchanged, so importing
    the same file twice changes nothing. A mood not yet known is created; an
    empty mood leaves the song without one (a predicted mood is kept) until
    the mood map's regions fill it, at the end (`moods_fill_missing`). In a
    layout whose tracks repeat (playlists), a track's later rows are counted
    and passed over. Extra columns are ignored. Raises ValidationError when
    the file itself is unusable (not a readable CSV, a required column
    missing), before anything is written.

    Rows are read and validated IMPORT_BATCH_ROWS at a time outside any
    transaction, and each batch is then written in one short transaction:
    SQLite lets one writer in at a time, and a rating posted meanwhile waits
    for one batch's inserts, not for the whole file. An import cut short
    keeps the batches before; running it again completes it.

    fill_moods=False leaves the missing moods to a later import (the seed
    imports its unlabelled file before the labelled one).
    """
    songs_file = csv_import.songs_read(csv_file)
    report = ImportReport()
    genres: dict[str, str] = {}
    if genres_file is not None:
        genres, unreadable = csv_import.genres_read(genres_file)
        report.skipped.extend(SkippedRow(record.line, f"In the genres file: {record.problem}") for record in unreadable)
    run = _ImportRun(
        layout=songs_file.layout,
        genres=genres,
        moods={mood.name.lower(): mood for mood in Mood.objects.all()},
        report=report,
    )
    for batch in _batches(songs_file.rows, IMPORT_BATCH_ROWS):
        _import_batch(batch, run)
    if fill_moods:
        _fill_missing_moods(report)
    return report


def _batches(rows: Iterable[SongRow], size: int) -> Iterator[list[SongRow]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _import_batch(rows: list[SongRow], run: _ImportRun) -> None:
    stored = _songs_by_spotify_id([row.spotify_id for row in rows])
    created: list[Song] = []
    changed: list[Song] = []
    for row in rows:
        song = _song_from_row(row, run, stored)
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


def _song_from_row(row: SongRow, run: _ImportRun, stored: Mapping[str, Song]) -> Song | None:
    """The song a row describes, validated; None when the row is skipped (and listed in the report)."""
    report = run.report
    if not row.readable:
        report.skipped.append(SkippedRow(row.line, " ".join(row.problems)))
        return None
    problems = list(row.problems)
    spotify_id = row.spotify_id
    if spotify_id in run.first_line_of:
        if run.layout.repeats_tracks:
            # The same track in another playlist: the first row read is the song (its genre and subgenre
            # those of the first playlist), so a file imports the same way every time.
            report.repeated += 1
            return None
        problems.append(f"The Spotify id {spotify_id} already appeared on line {run.first_line_of[spotify_id]}.")
    if problems:
        report.skipped.append(SkippedRow(row.line, " ".join([*problems, *_other_problems(row.values, run.layout)])))
        return None

    # A copy: a refused row must leave the stored song as the next row with its id will find it.
    song = copy.copy(stored[spotify_id]) if spotify_id in stored else Song()
    for name, value in row.values.items():
        setattr(song, name, value)
    _song_genre(song, row, run)
    try:
        _song_mood(song, row, run)
        # Not the mood (it was found above, or is created with the batch) nor uniqueness (`stored` has
        # the ids already in the catalog): each would cost a query a row.
        _song_validate(song, exclude=["mood"], validate_unique=False)
    except ValidationError as error:
        report.skipped.append(SkippedRow(row.line, csv_import.describe(error, run.layout)))
        return None
    if (new_mood := _new_mood_of(song)) is not None and new_mood not in run.moods_to_create:
        run.moods_to_create.append(new_mood)
    run.first_line_of[spotify_id] = row.line
    return song


def _song_genre(song: Song, row: SongRow, run: _ImportRun) -> None:
    genre = song.genre
    if spotify_genre := run.genres.get(song.spotify_id):
        song.genre = spotify_genre
    elif row.genre is not None:
        song.genre = row.genre
    if row.subgenre is not None:
        song.subgenre = row.subgenre
    elif song.genre != genre:
        # A subgenre is a kind of its genre: a file that changes the genre and names no subgenre clears it.
        song.subgenre = ""


def _song_mood(song: Song, row: SongRow, run: _ImportRun) -> None:
    """The row's mood, found in any case or made new (saved with the batch); ValidationError for a bad name."""
    if row.mood is None:
        return
    if not row.mood:
        if not song.mood_predicted:
            song.mood = None
        return
    song.mood_predicted = False
    mood = run.moods.get(row.mood.lower())
    if mood is None:
        mood = Mood(name=row.mood)
        try:
            mood.full_clean()
        except ValidationError as error:
            raise ValidationError({"mood": error.messages}) from error
        run.moods[row.mood.lower()] = mood
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
    # Predicted moods are redone too: the file may have brought labelled songs that move the centroids.
    filled = moods_fill_missing(refresh=True)
    if filled is not None and filled.filled:
        report.moods_filled = filled.filled
        report.moods_filled_by = "mood map's regions (the mood of the nearest centroid on valence x energy)"


# --- Moods ---------------------------------------------------------------------


def mood_by_name(*, name: str) -> Mood:
    """The existing mood of that name in any case; a ValidationError naming the known moods otherwise."""
    mood = Mood.objects.filter(name__iexact=name.strip()).first()
    if mood is None:
        known = ", ".join(Mood.objects.values_list("name", flat=True)) or "none yet"
        raise ValidationError({"mood": f"There is no mood named {name!r}. Known moods: {known}."})
    return mood


@dataclass(frozen=True)
class MoodsFilled:
    filled: int  # songs that had no mood
    moved: int  # songs whose predicted mood changed (refresh only): the centroids moved
    rule: RegionRule  # mood ids and their centroids


def moods_fill_missing(*, refresh: bool = False) -> MoodsFilled | None:
    """Give every song without a mood the mood of its region on the mood map, marked as predicted.

    The regions are those the recommender ranks by (`catalog.mood_regions`,
    centres from `selectors.mood_centres_get`): each mood's centre is the one
    admins set, else the mean valence and energy of the songs labelled with it
    (given, not predicted), and a song takes the mood of the nearest centre.
    So a song whose mood was filled in lies in its own mood's region. With
    refresh, the moods predicted earlier are redone as well (labelled songs
    added since, or a centre admins moved, move the regions); only the songs
    whose mood changes are written. None when fewer than two moods have
    labelled songs.
    """
    centres = selectors.mood_centres_get()
    if len(centres) < 2:
        logger.warning("No mood regions: the catalog needs songs labelled with at least two moods.")
        return None
    rule = RegionRule.from_centres(centres)
    unlabelled = Song.objects.filter(mood__isnull=True)
    if refresh:
        unlabelled = unlabelled | Song.objects.filter(mood_predicted=True)
    songs = list(unlabelled.order_by("pk").only("id", "mood", "mood_predicted", *PLANE_FEATURES))
    if not songs:
        return MoodsFilled(filled=0, moved=0, rule=rule)
    regions = rule.predict([[getattr(song, name) for name in PLANE_FEATURES] for song in songs])
    ids_by_mood: dict[int, list[int]] = {}
    filled = moved = 0
    for song, mood_id in zip(songs, regions, strict=True):
        if song.mood_id == mood_id and song.mood_predicted:
            continue
        filled += song.mood_id is None
        moved += song.mood_id is not None
        ids_by_mood.setdefault(mood_id, []).append(song.pk)
    now = timezone.now()
    # One UPDATE per mood and batch, not bulk_update's CASE per song: filling 28,000 songs took most of
    # the seed's time that way. `updated` is set by hand: update() skips auto_now, and the cache watches it.
    for mood_id, ids in ids_by_mood.items():
        for start in range(0, len(ids), IMPORT_BATCH_ROWS):
            with transaction.atomic():
                Song.objects.filter(pk__in=ids[start : start + IMPORT_BATCH_ROWS]).update(
                    mood_id=mood_id, mood_predicted=True, updated=now
                )
                songs_changed_send()
    if ids_by_mood:
        logger.info("The mood map's regions labelled %d songs and moved %d predicted moods.", filled, moved)
    return MoodsFilled(filled=filled, moved=moved, rule=rule)


def mood_centre_set(*, mood: Mood, centre: tuple[float, float] | None) -> MoodsFilled | None:
    """Centre a mood's region there (None: back at its labelled songs' mean), and refill the predicted moods
    at once, so that the moods stored on songs follow the new regions.

    Checked first (`selectors.mood_region_problems`): a ValidationError says why, and nothing is saved.
    Returns the refill (how many songs changed mood), None when fewer than two moods have regions.
    """
    problems = selectors.mood_region_problems(mood=mood, centre=centre)
    if problems:
        raise ValidationError(problems)
    mood.centre_valence, mood.centre_energy = centre if centre is not None else (None, None)
    mood.full_clean()
    with transaction.atomic():
        mood.save()
        filled = moods_fill_missing(refresh=True)
    return filled


# --- Staff edits (admin and API) ---------------------------------------------------

SONG_WRITABLE_FIELDS = (*SONG_FIELDS, "genre", "subgenre")


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
