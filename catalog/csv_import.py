"""Reading a song CSV: its layout, recognised from the header, and each row parsed into a song's fields.

A layout (`CsvLayout`) says which column carries which of the song's fields
and where the optional mood and genre are. `songs_read` picks the layout
whose columns the file's header names and turns every row into a `SongRow`:
the values that parsed, and in the file's own words what did not. Whether
those values make a valid song is the model's to say (`catalog.services`),
so that the importer, the admin and the API refuse the same things.

No row is written here, and no row stops the reading: a row that cannot be
read is one more `SongRow`, with its line and the reason.
"""

import csv
import io
import math
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import ValidationError

from catalog.models import hidden_characters_removed
from catalog.schema import AUDIO_FEATURES, FIELD_OF_COLUMN, KAGGLE_COLUMNS
from catalog.spreadsheet import unescape_cell

CsvSource = str | Path | bytes | IO[bytes] | IO[str]

# A song file may come gzip-compressed (the bundled 28,000 songs do); it is told by its first bytes.
GZIP_MAGIC = b"\x1f\x8b"
# What a compressed file may unpack to: a few KB of zeros unpack to gigabytes.
GUNZIPPED_LIMIT_BYTES = 500_000_000

# The csv module refuses a longer cell (its default limit, in characters).
CELL_LIMIT = csv.field_size_limit()

# How each of the song's fields is read from its cell; together they are SONG_FIELDS.
TEXT_FIELDS = ("spotify_id", "name", "album", "artist", "release_date")
NONEMPTY_TEXT_FIELDS = ("spotify_id", "name")
# Catalog files carry the bidi controls and zero-width characters that the admin refuses in these
# (catalog.models.HIDDEN_CHARACTERS); an import takes them out rather than skip the song.
DISPLAYED_TEXT_FIELDS = ("name", "album", "artist")
FLOAT_FIELDS = AUDIO_FEATURES
INTEGER_FIELDS = ("popularity", "length_ms", "key", "time_signature")
# Fields a song may lack (None: unknown): an empty cell, or a layout without the column, leaves them so.
OPTIONAL_FIELDS = ("time_signature",)


@dataclass(frozen=True)
class CsvLayout:
    """One kind of song file: the column each of the song's fields is read from, and its label columns."""

    name: str
    column_of_field: Mapping[str, str]  # the song's fields the file gives, in its column order; each required
    mood_column: str = ""  # optional in the file; "" where the layout has none
    genre_column: str = ""
    subgenre_column: str = ""
    # True where one track may fill several rows (a file of playlists): the first row is the song, the
    # later ones are counted and passed over. Otherwise a repeated id is a mistake, and named.
    repeats_tracks: bool = False

    @property
    def required_columns(self) -> tuple[str, ...]:
        """In the order the layout's files give them."""
        return tuple(self.column_of_field.values())

    def missing_columns(self, columns: Sequence[str]) -> list[str]:
        return [column for column in self.required_columns if column not in columns]

    def column_for(self, field_name: str) -> str:
        """The column a field's value came from, to name it in a problem; the field's name where none did."""
        if field_name == "mood" and self.mood_column:
            return self.mood_column
        return self.column_of_field.get(field_name, field_name)


# Kaggle's "Spotify music data to identify the moods" (data_moods.csv), which the admin also exports.
KAGGLE_MOODS = CsvLayout(
    name='Kaggle "Spotify music data to identify the moods"',
    column_of_field={FIELD_OF_COLUMN.get(column, column): column for column in KAGGLE_COLUMNS if column != "mood"},
    mood_column="mood",
    genre_column="genre",
    subgenre_column="subgenre",
)
# TidyTuesday's "Spotify songs" (2020-01-21): 32,833 rows of playlists, one row per track and playlist, so
# a track in several playlists repeats (28,356 tracks). No mood and no time signature; the playlist's
# genre and subgenre are the song's (the first playlist's, where the track is in several).
TIDYTUESDAY_SONGS = CsvLayout(
    name='TidyTuesday "Spotify songs"',
    column_of_field={
        "spotify_id": "track_id",
        "name": "track_name",
        "artist": "track_artist",
        "popularity": "track_popularity",
        "album": "track_album_name",
        "release_date": "track_album_release_date",
        "danceability": "danceability",
        "energy": "energy",
        "key": "key",
        "loudness": "loudness",
        "speechiness": "speechiness",
        "acousticness": "acousticness",
        "instrumentalness": "instrumentalness",
        "liveness": "liveness",
        "valence": "valence",
        "tempo": "tempo",
        "length_ms": "duration_ms",
    },
    genre_column="playlist_genre",
    subgenre_column="playlist_subgenre",
    repeats_tracks=True,
)
LAYOUTS: tuple[CsvLayout, ...] = (KAGGLE_MOODS, TIDYTUESDAY_SONGS)


@dataclass(frozen=True)
class CsvRecord:
    line: int  # where the row starts, as a person counts lines
    cells: dict[str, str]  # by lower-case column name; empty when the row could not be read
    problem: str = ""  # why the row cannot be imported as it stands


@dataclass(frozen=True)
class SongRow:
    """One row of a song file, read through its layout."""

    line: int
    values: dict[str, Any]  # the song's fields whose cells parsed, by field name
    problems: tuple[str, ...] = ()  # what is wrong with the cells, in the file's column names
    readable: bool = True  # False: the row itself could not be read, and its one problem says why
    mood: str | None = None  # the mood cell, spaces collapsed; None where the file has no mood column
    genre: str | None = None  # None where the file has no genre column
    subgenre: str | None = None  # None where the file has no subgenre column

    @property
    def spotify_id(self) -> str:
        return self.values.get("spotify_id", "")


@dataclass(frozen=True)
class SongsFile:
    layout: CsvLayout
    columns: list[str]
    rows: Iterator[SongRow] = field(repr=False)  # read as they are asked for


def songs_read(source: CsvSource) -> SongsFile:
    """The song file's layout (recognised from its header now) and its rows, parsed as they are asked for.

    Raises ValidationError when the file itself is unusable: unreadable, not
    UTF-8, empty, or lacking a column every layout needs.
    """
    what = "CSV file"
    reader = _reader(source, what=what)
    columns = _header(reader, what=what)
    layout = layout_of(columns, what=what)
    return SongsFile(layout=layout, columns=columns, rows=_song_rows(_records(reader, columns), layout, columns))


def layout_of(columns: Sequence[str], *, what: str = "CSV file") -> CsvLayout:
    """The layout whose columns the header names; a ValidationError naming the missing ones otherwise."""
    for layout in LAYOUTS:
        if not layout.missing_columns(columns):
            return layout
    closest = min(LAYOUTS, key=lambda layout: len(layout.missing_columns(columns)))
    raise _missing_columns_error(closest.missing_columns(columns), closest.required_columns, what=what)


def genres_read(source: CsvSource) -> tuple[dict[str, str], list[CsvRecord]]:
    """Genre by Spotify id from a genres file (columns `id, genre`), and the rows that could not be read."""
    what = "genres file"
    reader = _reader(source, what=what)
    columns = _header(reader, what=what)
    if missing := [column for column in ("id", "genre") if column not in columns]:
        raise _missing_columns_error(missing, ("id", "genre"), what=what)
    genres: dict[str, str] = {}
    unreadable: list[CsvRecord] = []
    for record in _records(reader, columns):
        if record.problem:
            unreadable.append(record)
        elif spotify_id := unescape_cell(_cell(record.cells, "id")):
            genres[spotify_id] = unescape_cell(_cell(record.cells, "genre"))
    return genres, unreadable


def describe(error: ValidationError, layout: CsvLayout) -> str:
    """A model's ValidationError as one sentence in the file's column names."""
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    parts = []
    for field_name, messages in error.message_dict.items():
        for message in messages:
            parts.append(message if field_name == "__all__" else f"{layout.column_for(field_name)}: {message}")
    return " ".join(parts)


# --- Reading the file: one record per row, with the line it starts on ------------


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
    if raw[:2] == GZIP_MAGIC:
        raw = _gunzipped(raw, what=what)
    try:
        # utf-8-sig: spreadsheets often save CSV with a byte-order mark.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationError(f"The {what} is not a UTF-8 text file; save it as CSV (UTF-8) and try again.") from error


def _gunzipped(raw: bytes, *, what: str) -> bytes:
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = decompressor.decompress(raw, GUNZIPPED_LIMIT_BYTES)
    except zlib.error as error:
        raise ValidationError(f"The {what} is a damaged gzip file ({error}).") from error
    if decompressor.unconsumed_tail:
        raise ValidationError(
            f"The {what} unpacks to more than {GUNZIPPED_LIMIT_BYTES // 1_000_000} MB; split it in parts."
        )
    if not decompressor.eof:
        raise ValidationError(f"The {what} is a damaged gzip file (it ends early).")
    return data


def _reader(source: CsvSource, *, what: str) -> Any:
    # strict: a stray quote is a problem to report, not something to guess around.
    return csv.reader(io.StringIO(_read_text(source, what=what), newline=""), strict=True)


def _header(reader: Any, *, what: str) -> list[str]:
    """The first non-blank line's column names, lower-case."""
    try:
        header = next((cells for cells in reader if any(cell.strip() for cell in cells)), None)
    except csv.Error as error:
        raise ValidationError(f"The {what} is not a readable CSV file ({error}).") from error
    if header is None:
        raise ValidationError(f"The {what} is empty.")
    return [column.strip().lower() for column in header]


def _missing_columns_error(missing: Sequence[str], required: Sequence[str], *, what: str) -> ValidationError:
    return ValidationError(
        f"The {what} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}. "
        f"Its first line must name the columns: {', '.join(required)}."
    )


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


# --- Parsing one row through its layout --------------------------------------------


def _song_rows(records: Iterator[CsvRecord], layout: CsvLayout, columns: list[str]) -> Iterator[SongRow]:
    has_mood = bool(layout.mood_column) and layout.mood_column in columns
    has_genre = bool(layout.genre_column) and layout.genre_column in columns
    has_subgenre = bool(layout.subgenre_column) and layout.subgenre_column in columns
    for record in records:
        if record.problem:
            yield SongRow(record.line, {}, (record.problem,), readable=False)
            continue
        values, problems = _parse_fields(record.cells, layout)
        yield SongRow(
            record.line,
            values,
            tuple(problems),
            mood=unescape_cell(" ".join(record.cells.get(layout.mood_column, "").split())) if has_mood else None,
            genre=unescape_cell(_cell(record.cells, layout.genre_column)) if has_genre else None,
            subgenre=unescape_cell(_cell(record.cells, layout.subgenre_column)) if has_subgenre else None,
        )


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


def _parse_fields(cells: Mapping[str, str], layout: CsvLayout) -> tuple[dict[str, Any], list[str]]:
    """The song's fields from a row's cells, and what is wrong with them."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name in TEXT_FIELDS:
        values[name] = unescape_cell(_cell(cells, layout.column_for(name)))
    for name in DISPLAYED_TEXT_FIELDS:
        values[name] = hidden_characters_removed(values[name]).strip()
    for name in NONEMPTY_TEXT_FIELDS:
        if not values[name]:
            problems.append(f"{layout.column_for(name)} is empty.")
    for name, parse, kind in (
        *((name, _parse_float, "a number") for name in FLOAT_FIELDS),
        *((name, _parse_integer, "a whole number") for name in INTEGER_FIELDS),
    ):
        if name in OPTIONAL_FIELDS and name not in layout.column_of_field:
            # The file says nothing about it: a new song has it unknown, a known song keeps its value.
            continue
        column = layout.column_for(name)
        raw = _cell(cells, column)
        if name in OPTIONAL_FIELDS and not raw:
            values[name] = None
            continue
        try:
            values[name] = parse(raw)
        except (ValueError, OverflowError):
            problems.append(f"{column} must be {kind}, not {raw!r}." if raw else f"{column} is empty.")
    return values, problems
