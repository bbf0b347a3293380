"""The song's schema, written out once: its audio features, its fields and the CSV columns that carry them.

Plain Python on purpose (no Django): `ml.training.eda` and the recommender's numpy
engine read the same names as the model, the API, the admin and the importer.
"""

# Spotify's audio features, in the order of the Kaggle file and of the API's Song.
AUDIO_FEATURES: tuple[str, ...] = (
    "danceability",
    "acousticness",
    "energy",
    "instrumentalness",
    "liveness",
    "valence",
    "loudness",
    "speechiness",
    "tempo",
)
# Loudness is in decibels and tempo in beats a minute; Spotify scores every other feature from 0 to 1.
UNIT_INTERVAL_FEATURES: tuple[str, ...] = tuple(name for name in AUDIO_FEATURES if name not in {"loudness", "tempo"})

# A song's own data, in the API's order: what staff write through the API and the admin,
# and what the importer reads (under the CSV's names, below). The mood and genre are labels, apart.
SONG_FIELDS: tuple[str, ...] = (
    "spotify_id",
    "name",
    "album",
    "artist",
    "release_date",
    "popularity",
    "length_ms",
    *AUDIO_FEATURES,
    "key",
    "time_signature",
)

# The columns of the Kaggle "Spotify music data to identify the moods" file, in its order.
# `mood` may be absent (a catalog whose moods are filled later); a `genre` column after them is read
# too, so that an exported file re-imports whole.
KAGGLE_COLUMNS: tuple[str, ...] = (
    "name",
    "album",
    "artist",
    "id",
    "release_date",
    "popularity",
    "length",
    *AUDIO_FEATURES,
    "key",
    "time_signature",
    "mood",
)
# Where the file's column name differs from the song's field.
FIELD_OF_COLUMN: dict[str, str] = {"id": "spotify_id", "length": "length_ms"}

# What the mood classifier learns a song's mood from.
MOOD_CLASSIFIER_FEATURES: tuple[str, ...] = (*AUDIO_FEATURES, "popularity")
