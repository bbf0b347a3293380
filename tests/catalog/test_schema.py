"""The song's schema is written once (catalog.schema); these tests hold the other layers to it."""

import ast
from pathlib import Path

from catalog import schema
from catalog.api import SongInputSerializer, SongOutputSerializer
from catalog.models import Song
from catalog.selectors import EXPORT_COLUMNS
from recommendations import engine

ROOT = Path(__file__).resolve().parents[2]

# The Song object of the HTTP contract (docs/API.md), spelled out once here, so that the
# schema cannot drift from the contract unnoticed.
CONTRACT_SONG = [
    "id",
    "spotify_id",
    "name",
    "album",
    "artist",
    "release_date",
    "popularity",
    "length_ms",
    "danceability",
    "acousticness",
    "energy",
    "instrumentalness",
    "liveness",
    "valence",
    "loudness",
    "speechiness",
    "tempo",
    "key",
    "time_signature",
    "mood",
    "genre",
    "subgenre",
    "spotify_url",
]


def test_the_schema_is_the_contracts_song():
    assert ["id", *schema.SONG_FIELDS, "mood", "genre", "subgenre", "spotify_url"] == CONTRACT_SONG


def test_every_field_of_the_schema_is_a_column_of_the_model():
    model_fields = {field.name for field in Song._meta.fields}

    assert set(schema.SONG_FIELDS) <= model_fields
    assert set(schema.AUDIO_FEATURES) <= model_fields


def test_the_api_reads_and_writes_the_schemas_fields():
    assert list(SongOutputSerializer().fields) == CONTRACT_SONG
    assert set(SongInputSerializer().fields) == {*schema.SONG_FIELDS, "mood", "genre", "subgenre"}


def test_the_csv_columns_carry_every_field():
    columns = {schema.FIELD_OF_COLUMN.get(column, column) for column in schema.KAGGLE_COLUMNS}

    assert set(schema.SONG_FIELDS) <= columns
    assert (*schema.KAGGLE_COLUMNS, "genre", "subgenre") == EXPORT_COLUMNS


def test_the_recommender_and_its_reasons_cover_every_audio_feature():
    assert engine.FEATURES == schema.AUDIO_FEATURES
    assert set(engine.FEATURE_WORDS) == set(schema.AUDIO_FEATURES)


def test_the_unit_interval_features_are_the_audio_features_the_model_bounds_by_1():
    bounded = {
        name
        for name in schema.AUDIO_FEATURES
        if any(getattr(validator, "limit_value", None) == 1.0 for validator in Song._meta.get_field(name).validators)
    }

    assert bounded == set(schema.UNIT_INTERVAL_FEATURES)


def test_no_other_module_spells_out_the_audio_features():
    # A tuple or list literal naming three or more audio features outside catalog.schema is a second copy.
    copies = []
    packages = ("accounts", "bench", "catalog", "detection", "emomusic_site", "insights", "ml", "recommendations")
    for path in (path for package in packages for path in (ROOT / package).rglob("*.py")):
        if "migrations" in path.parts or path == ROOT / "catalog" / "schema.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Tuple | ast.List | ast.Set):
                named = {element.value for element in node.elts if isinstance(element, ast.Constant)}
                if len(named & set(schema.AUDIO_FEATURES)) >= 3:
                    copies.append(f"{path.relative_to(ROOT)}:{node.lineno}")

    assert copies == []
