"""The recommender's arithmetic: numpy over an in-memory catalog matrix, no Django.

`Catalog` holds every song as one row of standardized audio features plus
integer codes for artist, genre and mood. `recommend()` scores the whole
catalog with a handful of vectorized operations:

* content: the mood map's score, given by the caller (recommendations.map_ranking:
  closeness to the target on the valence x energy plane inside the target's
  region, -inf outside it); or, without one, closeness to the target mood
  profile (the mean standardized features of the songs labelled with that
  mood, mixed by weights) plus agreement of the song's own mood label;
* personal: a ridge regression per user over the standardized features and
  the artists and genres the user rated, refitted on every request (a user
  has tens of ratings, so it is a tiny solve), plus a pull towards songs
  close to the ones rated 4-5 and a push away from those rated 1-2;
* the blend leans on the personal part as ratings accumulate (cold start is
  pure content).

Then a greedy MMR pass picks a diverse list (at most two songs per artist,
no song twice) and a seeded share of slots explores unrated songs.
Loading the matrix from the database lives in `recommendations.catalog_cache`.
"""

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from catalog.schema import AUDIO_FEATURES

# The standardized features the recommender compares songs on: every audio feature of the catalog.
FEATURES: tuple[str, ...] = AUDIO_FEATURES
# How a feature reads in a reason, below and above the catalog's average: the words
# a listener uses ("Calm: slow, soft, mostly acoustic"), not the audio analysis's.
FEATURE_WORDS: dict[str, tuple[str, str]] = {
    "danceability": ("hard to dance to", "made for dancing"),
    "acousticness": ("electric", "mostly acoustic"),
    "energy": ("soft", "full of energy"),
    "instrumentalness": ("with vocals", "instrumental"),
    "liveness": ("studio sound", "sounds live"),
    "valence": ("melancholy", "cheerful"),
    "speechiness": ("sung", "spoken words"),
    "loudness": ("quiet", "loud"),
    "tempo": ("slow", "fast"),
}
REASON_FEATURES_SHOWN = 3  # "Calm: slow, soft, mostly acoustic"

EXPLORE_SHARE = 0.2  # 2 of 10 slots go to songs the user has not rated
RATED_SHARE_MAX = 0.3  # songs already rated take at most 3 of 10 places, unless the user asks for favourites
ARTIST_CAP = 2  # at most this many songs by one artist in a list
MMR_PENALTY = 0.12  # how strongly a song close to one already picked is held back
POOL_SIZE = 300  # the best candidates MMR and exploration choose from
RERANK_SIZE = 3000  # the best songs of the first pass that get the neighbour term
BLEND_HALF_RATINGS = 8.0  # ratings at which personal and content weigh the same
BLEND_MAX = 0.75  # the content part never drops below a quarter: the mood still matters
OTHER_CONTEXT_WEIGHT = 0.5  # a rating given in another emotion counts half
RIDGE_FEATURE_PENALTY = 4.0
RIDGE_AFFINITY_PENALTY = 1.5
SIMILARITY_SHARPNESS = 1.5
REASON_FEATURE_MIN_Z = 0.25
REASON_SIMILAR_MIN = 0.4
REASON_AFFINITY_MIN = 0.15  # an artist's or genre's ridge coefficient that counts as "you like it"
# The content score: closeness to the mood's profile, the song's own mood label, a touch of popularity.
CONTENT_CLOSENESS_WEIGHT = 0.75
CONTENT_LABEL_WEIGHT = 0.2
CONTENT_POPULARITY_WEIGHT = 0.05
# The personal score: the ridge regression's prediction, and the pull of the nearest rated songs.
PERSONAL_LINEAR_WEIGHT = 0.6
PERSONAL_NEIGHBOUR_WEIGHT = 0.4
SEPARATION_FLOOR = 0.1  # no feature weighs less than this share of the most separating one
EXPLORE_WINDOW_MIN = 60  # exploration samples from at least this many of the best candidates,
EXPLORE_WINDOW_PER_PICK = 6  # or this many per song already chosen
EXPLORE_EVERY = 5  # an exploration song takes every fifth place
# What catalogs write for a song without a genre (the bundled seed writes "N/A"): all of them are no genre.
NO_GENRE_NAMES = frozenset({"", "n/a", "na", "none", "unknown", "-"})


def genre_key(genre: str) -> str:
    """A genre as the recommender compares it: trimmed, lower case, "" for none ("Rock " is "rock")."""
    key = genre.strip().lower()
    return "" if key in NO_GENRE_NAMES else key


@dataclass(frozen=True)
class Catalog:
    """Every song as a row: standardized features and codes, built once per catalog version."""

    song_ids: np.ndarray  # (n,) int64 primary keys
    features: np.ndarray  # (n, d) float32, standardized
    popularity: np.ndarray  # (n,) float32 in 0..1
    artist_codes: np.ndarray  # (n,) int32 into artists
    genre_codes: np.ndarray  # (n,) int32 into genres ("" is the code for no genre)
    # A song's mood, given or filled in by the catalog's mood classifier. The
    # recommender guesses none of its own: a song still without a mood earns
    # no label term and competes on its audio features alone.
    mood_codes: np.ndarray  # (n,) int32 into mood_ids, -1 for no mood
    dedupe_codes: np.ndarray  # (n,) int32: the same title by the same artist shares a code
    titles: list[str]
    artists: list[str]
    genres: list[str]
    mood_ids: list[int]
    mood_profiles: np.ndarray  # (len(mood_ids), d), NaN rows for moods without songs
    feature_weights: np.ndarray  # (d,) mean 1: features that separate moods weigh more
    mean: np.ndarray
    std: np.ndarray
    row_of: dict[int, int] = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.song_ids)


@dataclass(frozen=True)
class SongRow:
    song_id: int
    title: str
    artist: str
    genre: str
    mood_id: int | None
    mood_labelled: bool  # False when the mood was predicted by the classifier
    popularity: float
    values: Mapping[str, float]


@dataclass(frozen=True)
class CatalogColumns:
    """The catalog column by column, as the database hands it over (fast to build for 200,000 songs)."""

    song_ids: np.ndarray  # (n,) int64
    titles: list[str]
    artists: list[str]
    genres: list[str]
    mood_ids: np.ndarray  # (n,) int64, -1 for no mood
    labelled: np.ndarray  # (n,) bool: the mood was given, not predicted
    popularity: np.ndarray  # (n,) float
    raw: np.ndarray  # (n, len(FEATURES)) float64, unstandardized


def columns_from_rows(rows: Sequence[SongRow]) -> CatalogColumns:
    return CatalogColumns(
        song_ids=np.array([row.song_id for row in rows], dtype=np.int64),
        titles=[row.title for row in rows],
        artists=[row.artist for row in rows],
        genres=[row.genre for row in rows],
        mood_ids=np.array([-1 if row.mood_id is None else row.mood_id for row in rows], dtype=np.int64),
        labelled=np.array([row.mood_labelled for row in rows], dtype=bool),
        popularity=np.array([row.popularity for row in rows], dtype=np.float64),
        raw=np.array([[row.values[name] for name in FEATURES] for row in rows], dtype=np.float64).reshape(
            len(rows), len(FEATURES)
        ),
    )


def build_catalog(rows: Sequence[SongRow]) -> Catalog:
    return build_catalog_from_columns(columns_from_rows(rows))


def build_catalog_from_columns(columns: CatalogColumns) -> Catalog:
    """Standardize the features and learn one target profile per mood from the labelled songs."""
    raw = columns.raw
    n = len(columns.song_ids)
    mean = raw.mean(axis=0) if n else np.zeros(len(FEATURES))
    std = raw.std(axis=0) if n else np.ones(len(FEATURES))
    std = np.where(std > 1e-9, std, 1.0)
    features = ((raw - mean) / std).astype(np.float32)

    artist_display = pd.Series(columns.artists, dtype=object).str.strip()
    artist_keys = artist_display.str.lower()
    # A song without an artist is its own artist: the cap must not lump them together.
    artist_keys = artist_keys.where(artist_keys != "", "#" + pd.Series(columns.song_ids).astype(str))
    artist_codes, _ = pd.factorize(artist_keys)
    first_of_artist = np.unique(artist_codes, return_index=True)[1] if n else np.zeros(0, dtype=int)
    genre_keys = pd.Series(columns.genres, dtype=object).str.strip().str.lower()
    genre_codes, genre_uniques = pd.factorize(genre_keys.where(~genre_keys.isin(NO_GENRE_NAMES), ""))
    titles = pd.Series(columns.titles, dtype=object).str.strip().str.lower()
    dedupe_codes, _ = pd.factorize(titles + "\x00" + artist_keys)
    mood_ids = sorted(int(mood_id) for mood_id in np.unique(columns.mood_ids) if mood_id >= 0)
    mood_codes = np.full(n, -1, dtype=np.int32)
    if mood_ids:
        known = columns.mood_ids >= 0
        mood_codes[known] = np.searchsorted(np.array(mood_ids, dtype=np.int64), columns.mood_ids[known])
    labelled = columns.labelled

    profiles = np.full((len(mood_ids), len(FEATURES)), np.nan, dtype=np.float32)
    for index in range(len(mood_ids)):
        members = (mood_codes == index) & labelled
        if not members.any():
            # A mood only the classifier assigned still gets a profile.
            members = mood_codes == index
        if members.any():
            profiles[index] = features[members].mean(axis=0)

    weights = _separating_weights(features, mood_codes, len(mood_ids))
    return Catalog(
        song_ids=columns.song_ids,
        features=features,
        popularity=np.clip(columns.popularity.astype(np.float32) / 100.0, 0, 1),
        artist_codes=np.asarray(artist_codes, dtype=np.int32),
        genre_codes=np.asarray(genre_codes, dtype=np.int32),
        mood_codes=mood_codes,
        dedupe_codes=np.asarray(dedupe_codes, dtype=np.int32),
        titles=list(columns.titles),
        artists=[str(artist_display.iat[index]) for index in first_of_artist],
        genres=[str(genre) for genre in genre_uniques],
        mood_ids=mood_ids,
        mood_profiles=profiles,
        feature_weights=weights,
        mean=mean,
        std=std,
        row_of=dict(zip(columns.song_ids.tolist(), range(n), strict=True)),
    )


def _separating_weights(features: np.ndarray, mood_codes: np.ndarray, mood_count: int) -> np.ndarray:
    """Between-mood variance over total variance per feature, scaled to mean 1.

    Liveness barely differs between moods while energy and acousticness do;
    without this, distance to a profile would be mostly noise.
    """
    dimension = features.shape[1]
    labelled = mood_codes >= 0
    if mood_count < 2 or labelled.sum() < 2:
        return np.ones(dimension, dtype=np.float32)
    x = features[labelled]
    codes = mood_codes[labelled]
    overall = x.mean(axis=0)
    between = np.zeros(dimension)
    for index in range(mood_count):
        members = x[codes == index]
        if len(members):
            between += len(members) * (members.mean(axis=0) - overall) ** 2
    ratio = between / (((x - overall) ** 2).sum(axis=0) + 1e-9)
    # A floor keeps every feature in play for personal taste and unusual catalogs.
    ratio = np.maximum(ratio, SEPARATION_FLOOR * ratio.max() + 1e-6)
    return (ratio / ratio.mean()).astype(np.float32)


@dataclass(frozen=True)
class UserRatings:
    """One user's ratings as catalog rows (songs no longer in the catalog are dropped)."""

    rows: np.ndarray  # (k,) int64 catalog rows
    scores: np.ndarray  # (k,) float
    emotions: list[str]  # "" when rated without a context

    @classmethod
    def empty(cls) -> "UserRatings":
        return cls(rows=np.zeros(0, dtype=np.int64), scores=np.zeros(0), emotions=[])

    @classmethod
    def from_triples(cls, catalog: Catalog, triples: Sequence[tuple[int, int, str]]) -> "UserRatings":
        """(song id, score, emotion) → rows, keeping the songs the catalog knows."""
        kept = [
            (catalog.row_of[song_id], score, emotion)
            for song_id, score, emotion in triples
            if song_id in catalog.row_of
        ]
        if not kept:
            return cls.empty()
        rows, scores, emotions = zip(*kept, strict=True)
        return cls(
            rows=np.array(rows, dtype=np.int64), scores=np.array(scores, dtype=np.float64), emotions=list(emotions)
        )

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class Pick:
    row: int
    score: float
    reasons: list[str]
    explore: bool = False


@dataclass
class _Scored:
    total: np.ndarray
    content: np.ndarray
    target: np.ndarray | None
    personal: "_Personal | None"


@dataclass
class _Personal:
    artist_affinity: np.ndarray
    genre_affinity: np.ndarray
    liked_rows: np.ndarray
    liked_scores: np.ndarray


def target_profile(catalog: Catalog, mood_weights: Mapping[int, float]) -> np.ndarray | None:
    """The feature profile to aim for: the moods' profiles mixed by their weights."""
    total = np.zeros(len(FEATURES), dtype=np.float64)
    weight_sum = 0.0
    for mood_id, weight in mood_weights.items():
        if mood_id not in catalog.mood_ids or weight <= 0:
            continue
        profile = catalog.mood_profiles[catalog.mood_ids.index(mood_id)]
        if np.isnan(profile).any():
            continue
        total += weight * profile
        weight_sum += weight
    return (total / weight_sum).astype(np.float32) if weight_sum > 0 else None


def content_scores(catalog: Catalog, mood_weights: Mapping[int, float]) -> tuple[np.ndarray, np.ndarray | None]:
    """0..1 per song: closeness to the target profile, the mood label, a touch of popularity."""
    target = target_profile(catalog, mood_weights)
    if target is None:
        closeness = np.zeros(catalog.size, dtype=np.float32)
    else:
        difference = catalog.features - target
        distance = np.einsum("ij,ij,j->i", difference, difference, catalog.feature_weights)
        # The median of a regular sample is as good a scale as the exact one, and 40x cheaper at 200,000 songs.
        scale = float(np.median(distance[:: max(1, len(distance) // 5000)])) or 1.0
        closeness = np.exp(-distance / scale)
    label_weight = np.zeros(len(catalog.mood_ids) + 1, dtype=np.float32)  # last slot: no mood
    total_weight = sum(weight for weight in mood_weights.values() if weight > 0) or 1.0
    for mood_id, weight in mood_weights.items():
        if mood_id in catalog.mood_ids and weight > 0:
            label_weight[catalog.mood_ids.index(mood_id)] = weight / total_weight
    label = label_weight[catalog.mood_codes]  # -1 indexes the last slot
    content = (
        CONTENT_CLOSENESS_WEIGHT * closeness
        + CONTENT_LABEL_WEIGHT * label
        + CONTENT_POPULARITY_WEIGHT * catalog.popularity
    )
    return content.astype(np.float32), target


def _similarity(catalog: Catalog, candidates: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(len(candidates), len(rows)) similarity in 0..1 of some songs to others."""
    x = catalog.features[candidates]
    y = catalog.features[rows]
    squared = (x * x).sum(axis=1)[:, None] + (y * y).sum(axis=1)[None, :] - 2.0 * (x @ y.T)
    return np.exp(-SIMILARITY_SHARPNESS * np.maximum(squared, 0.0) / x.shape[1])


def personal_linear(
    catalog: Catalog, ratings: UserRatings, *, emotion: str, rows: np.ndarray | None = None
) -> tuple[np.ndarray, _Personal]:
    """Per song, what a ridge regression on this user's ratings predicts (about -1..1), in this emotion's context.

    `rows`: predict only for these songs (the others get 0), when no other song can be listed.

    Features: the standardized audio features, plus one indicator per artist
    and genre the user has rated (their affinities). Ratings given in another
    emotion count half. Refitted on every request: a user has tens of ratings,
    so the solve is a few microseconds and the next list reflects a new rating.
    """
    # What the model learns from; `rows` is what it predicts for.
    rated_rows = ratings.rows
    offsets = (ratings.scores - 3.0) / 2.0  # -1 for one star, +1 for five
    sample_weight = _context_weights(ratings, emotion)
    rated_artists = np.unique(catalog.artist_codes[rated_rows])
    rated_genres = np.unique(catalog.genre_codes[rated_rows])
    rated_genres = rated_genres[[catalog.genres[code] != "" for code in rated_genres]]
    dimension = catalog.features.shape[1]
    design = np.hstack(
        [
            catalog.features[rated_rows].astype(np.float64),
            (catalog.artist_codes[rated_rows][:, None] == rated_artists[None, :]).astype(np.float64),
            (catalog.genre_codes[rated_rows][:, None] == rated_genres[None, :]).astype(np.float64),
        ]
    )
    penalty = np.concatenate(
        [
            np.full(dimension, RIDGE_FEATURE_PENALTY),
            np.full(len(rated_artists) + len(rated_genres), RIDGE_AFFINITY_PENALTY),
        ]
    )
    weighted = design * sample_weight[:, None]
    coefficients = np.linalg.solve(design.T @ weighted + np.diag(penalty), weighted.T @ offsets)
    feature_coefficients = coefficients[:dimension].astype(np.float32)
    artist_affinity = np.zeros(len(catalog.artists), dtype=np.float32)
    artist_affinity[rated_artists] = coefficients[dimension : dimension + len(rated_artists)]
    genre_affinity = np.zeros(len(catalog.genres), dtype=np.float32)
    genre_affinity[rated_genres] = coefficients[dimension + len(rated_artists) :]
    if rows is None:
        linear = catalog.features @ feature_coefficients
        linear += artist_affinity[catalog.artist_codes]
        linear += genre_affinity[catalog.genre_codes]
    else:
        linear = np.zeros(catalog.size, dtype=np.float32)
        linear[rows] = (
            catalog.features[rows] @ feature_coefficients
            + artist_affinity[catalog.artist_codes[rows]]
            + genre_affinity[catalog.genre_codes[rows]]
        )
    liked = offsets > 0
    return np.clip(linear, -1.0, 1.0), _Personal(
        artist_affinity=artist_affinity,
        genre_affinity=genre_affinity,
        liked_rows=rated_rows[liked],
        liked_scores=ratings.scores[liked],
    )


def _context_weights(ratings: UserRatings, emotion: str) -> np.ndarray:
    return np.array(
        [1.0 if not rated_in or rated_in == emotion else OTHER_CONTEXT_WEIGHT for rated_in in ratings.emotions]
    )


def neighbour_scores(catalog: Catalog, ratings: UserRatings, candidates: np.ndarray, *, emotion: str) -> np.ndarray:
    """-1..1 for the candidates: pulled up by the closest song rated 4-5, pushed down by the closest rated 1-2."""
    offsets = (ratings.scores - 3.0) / 2.0
    weights = _context_weights(ratings, emotion)
    strong = offsets != 0
    if not strong.any():
        return np.zeros(len(candidates), dtype=np.float32)
    similarity = _similarity(catalog, candidates, ratings.rows[strong])
    signed = (offsets * weights)[strong]
    pull = (similarity * np.maximum(signed, 0)).max(axis=1)
    push = (similarity * np.maximum(-signed, 0)).max(axis=1)
    return (pull - push).astype(np.float32)


def blend_weight(rating_count: float) -> float:
    """How much the personal part counts: 0 at cold start, rising with each rating up to BLEND_MAX."""
    return min(BLEND_MAX, rating_count / (rating_count + BLEND_HALF_RATINGS))


def score_catalog(
    catalog: Catalog,
    *,
    mood_weights: Mapping[int, float],
    ratings: UserRatings,
    emotion: str,
    content: tuple[np.ndarray, np.ndarray | None] | None = None,
) -> _Scored:
    """Content for every song, blended with the user's model as ratings accumulate.

    `content`: a content score computed elsewhere (the mood map's; -inf for songs
    that are not candidates) and the feature profile the reasons describe, in
    place of the mix of mood profiles.

    Two stages keep a 200,000-song catalog fast: the content score and the
    linear model are one pass over the matrix; the neighbour term (a distance
    to each rated song) is only computed for the best RERANK_SIZE songs of
    that first pass, which are the only ones that can reach a list.
    """
    from_the_map = content is not None
    content, target = content if content is not None else content_scores(catalog, mood_weights)
    if not len(ratings):
        return _Scored(total=content, content=content, target=target, personal=None)
    # With the mood map's content, only its candidates (finite scores) can be listed.
    rows = np.flatnonzero(np.isfinite(content)) if from_the_map else None
    linear, details = personal_linear(catalog, ratings, emotion=emotion, rows=rows)
    alpha = blend_weight(len(ratings))
    # personal = linear and neighbour terms by their weights, mapped from -1..1 to 0..1
    total = (1.0 - alpha) * content + alpha * (PERSONAL_LINEAR_WEIGHT * linear + 1.0) / 2.0
    candidates = _top(total, RERANK_SIZE)
    neighbours = neighbour_scores(catalog, ratings, candidates, emotion=emotion)
    total[candidates] += alpha * PERSONAL_NEIGHBOUR_WEIGHT * neighbours / 2.0
    return _Scored(total=total.astype(np.float32), content=content, target=target, personal=details)


def _top(values: np.ndarray, count: int) -> np.ndarray:
    """The rows of the `count` largest finite values (all of them when fewer), in no particular order.

    Songs that cannot be listed are -inf (the mood map's other regions): leaving them out first makes
    the partition a region's size instead of the catalog's.
    """
    finite = np.flatnonzero(np.isfinite(values))
    if count >= len(finite):
        return finite
    return finite[np.argpartition(-values[finite], count - 1)[:count]]


def genres_allowed(catalog: Catalog, *, excluded: Iterable[str] = (), only: str = "") -> np.ndarray | None:
    """(n,) bool: the songs outside the `excluded` genres and, given `only`, of that genre; None when all are.

    A song without a genre is never excluded, and is not of any genre `only` names.
    """
    excluded_codes = [
        catalog.genres.index(key) for key in {genre_key(genre) for genre in excluded} - {""} if key in catalog.genres
    ]
    only_key = genre_key(only)
    if not excluded_codes and not only_key:
        return None
    allowed = ~np.isin(catalog.genre_codes, excluded_codes)
    if only_key:
        allowed &= catalog.genre_codes == (catalog.genres.index(only_key) if only_key in catalog.genres else -1)
    return allowed


def excluded_rows(ratings: UserRatings, *, emotion: str) -> np.ndarray:
    """Songs rated 1 or 2 in this emotion (or with no context at all) are not offered again here."""
    if not len(ratings):
        return np.zeros(0, dtype=np.int64)
    in_context = np.array([not rated_in or rated_in == emotion for rated_in in ratings.emotions])
    return ratings.rows[(ratings.scores <= 2) & in_context]


def recommend(
    catalog: Catalog,
    *,
    mood_weights: Mapping[int, float],
    mood_id: int | None,
    mood_name: str | None,
    ratings: UserRatings,
    emotion: str,
    limit: int,
    seed: int,
    exclude_rated: bool = False,
    favourites: bool = False,
    content: tuple[np.ndarray, np.ndarray | None] | None = None,
    allowed: np.ndarray | None = None,
) -> list[Pick]:
    """The list for one request: scored, filtered, diversified, with exploration and reasons.

    Songs the user rated take at most RATED_SHARE_MAX of the places (the best
    of them), so the list keeps bringing new songs; `favourites` lifts that cap.
    `allowed`: (n,) bool, the songs that may be listed at all (the user's genres); None for every song.
    """
    if catalog.size == 0 or limit <= 0:
        return []
    scored = score_catalog(catalog, mood_weights=mood_weights, ratings=ratings, emotion=emotion, content=content)
    total = scored.total.copy()
    if allowed is not None:
        total[~allowed] = -np.inf
    total[excluded_rows(ratings, emotion=emotion)] = -np.inf
    if exclude_rated and len(ratings):
        total[ratings.rows] = -np.inf
    available = int(np.isfinite(total).sum())
    if available == 0:
        return []
    pool_size = min(available, max(POOL_SIZE, limit * 10))
    pool = _top(total, pool_size)
    pool = pool[np.argsort(-total[pool], kind="stable")]

    rated = np.zeros(catalog.size, dtype=bool)
    rated[ratings.rows] = True
    if not favourites:
        rated_in_pool = pool[rated[pool]]  # best first
        pool = pool[~np.isin(pool, rated_in_pool[int(limit * RATED_SHARE_MAX) :])]
    explore_count = int(limit * EXPLORE_SHARE)
    chosen = _diverse(catalog, pool, total, limit - explore_count, taken=set())
    explore = _explore(catalog, pool, total, rated, chosen, explore_count, seed=seed)
    if len(chosen) + len(explore) < limit:
        # A small catalog or a strict cap: fill from whatever is left rather than answer short.
        chosen += _diverse(catalog, pool, total, limit - len(chosen) - len(explore), taken=set(chosen) | set(explore))
    ordered = _interleave(chosen, explore)
    explore_set = set(explore)
    return [
        Pick(
            row=row,
            score=round(float(total[row]), 4),
            reasons=_reasons(catalog, scored, row, mood_id=mood_id, mood_name=mood_name, explore=row in explore_set),
            explore=row in explore_set,
        )
        for row in ordered[:limit]
    ]


class _ListSoFar:
    """The songs a list holds so far, for the two rules every pick obeys: no song twice (the same
    title by the same artist counts once) and at most ARTIST_CAP songs by one artist."""

    def __init__(self, catalog: Catalog, rows: Iterable[int]) -> None:
        self.catalog = catalog
        self.artist_counts: Counter[int] = Counter()
        self.songs: set[int] = set()
        for row in rows:
            self.add(row)

    def allows(self, row: int, *, cap_artists: bool = True) -> bool:
        if int(self.catalog.dedupe_codes[row]) in self.songs:
            return False
        return not cap_artists or self.artist_counts[int(self.catalog.artist_codes[row])] < ARTIST_CAP

    def add(self, row: int) -> None:
        self.songs.add(int(self.catalog.dedupe_codes[row]))
        self.artist_counts[int(self.catalog.artist_codes[row])] += 1


def _diverse(catalog: Catalog, pool: np.ndarray, total: np.ndarray, count: int, *, taken: set[int]) -> list[int]:
    """Greedy MMR over the pool with the artist cap and no repeated song."""
    if count <= 0:
        return []
    so_far = _ListSoFar(catalog, taken)
    candidates = [int(row) for row in pool if int(row) not in taken]
    features = catalog.features
    candidate_features = features[candidates]
    max_similarity = np.zeros(len(candidates), dtype=np.float32)
    alive = np.ones(len(candidates), dtype=bool)
    base = total[candidates].astype(np.float32) if candidates else np.zeros(0, dtype=np.float32)
    picked: list[int] = []
    for strict_cap in (True, False):
        for index, row in enumerate(candidates):
            if not so_far.allows(row, cap_artists=strict_cap):
                alive[index] = False
        while len(picked) < count and alive.any():
            value = np.where(alive, base - MMR_PENALTY * max_similarity, -np.inf)
            index = int(np.argmax(value))
            row = candidates[index]
            alive[index] = False
            if not so_far.allows(row, cap_artists=strict_cap):
                continue
            picked.append(row)
            so_far.add(row)
            difference = candidate_features - features[row]
            similarity = np.exp(-SIMILARITY_SHARPNESS * (difference * difference).sum(axis=1) / features.shape[1])
            np.maximum(max_similarity, similarity, out=max_similarity)
        if len(picked) >= count or strict_cap is False:
            break
        # Only when the capped pool ran dry: an artist-only catalog still gets a list.
        alive = np.array([row not in picked for row in candidates], dtype=bool)
    return picked


def _explore(
    catalog: Catalog,
    pool: np.ndarray,
    total: np.ndarray,
    rated: np.ndarray,
    chosen: list[int],
    count: int,
    *,
    seed: int,
) -> list[int]:
    """Unrated songs sampled from the next-best candidates, weighted by their score."""
    if count <= 0:
        return []
    taken = set(chosen)
    so_far = _ListSoFar(catalog, chosen)
    window_size = max(EXPLORE_WINDOW_MIN, EXPLORE_WINDOW_PER_PICK * len(chosen))
    window = [int(row) for row in pool[:window_size] if int(row) not in taken and not rated[row]]
    if not window:
        return []
    weights = np.maximum(total[window].astype(np.float64), 0) + 1e-6
    order = np.random.default_rng(seed).choice(len(window), size=len(window), replace=False, p=weights / weights.sum())
    picked: list[int] = []
    for index in order:
        row = window[index]
        if not so_far.allows(row):
            continue
        picked.append(row)
        so_far.add(row)
        if len(picked) == count:
            break
    return picked


def _interleave(chosen: list[int], explore: list[int]) -> list[int]:
    """Exploration songs take every fifth place (5th, 10th, ...) instead of hiding at the end."""
    ordered = list(chosen)
    for number, row in enumerate(explore):
        ordered.insert(min(len(ordered), EXPLORE_EVERY - 1 + EXPLORE_EVERY * number), row)
    return ordered


def _reasons(
    catalog: Catalog, scored: _Scored, row: int, *, mood_id: int | None, mood_name: str | None, explore: bool
) -> list[str]:
    reasons: list[str] = []
    mood_reason = _mood_reason(catalog, scored.target, row, mood_name, mood_id)
    if mood_reason:
        reasons.append(mood_reason)
    if scored.personal is not None:
        reasons.extend(_personal_reasons(catalog, scored.personal, row)[: 2 if not explore else 1])
    if explore:
        reasons.append("something new for you: you have not rated it yet")
    if not reasons:
        reasons.append(f"a fit for {mood_name.lower()}" if mood_name else "popular in the catalog")
    return reasons[:3]


def _mood_reason(
    catalog: Catalog, target: np.ndarray | None, row: int, mood_name: str | None, mood_id: int | None
) -> str | None:
    if target is None or not mood_name:
        return None
    song = catalog.features[row]
    # The target's most distinctive features that this song shares.
    order = np.argsort(-np.abs(target) * catalog.feature_weights)
    words = []
    for index in order:
        if abs(target[index]) < REASON_FEATURE_MIN_Z:
            break
        if np.sign(song[index]) == np.sign(target[index]) and abs(song[index]) >= REASON_FEATURE_MIN_Z:
            words.append(FEATURE_WORDS[FEATURES[index]][1 if target[index] > 0 else 0])
        if len(words) == REASON_FEATURES_SHOWN:
            break
    if words:
        return f"{mood_name}: {', '.join(words)}"
    mood_code = int(catalog.mood_codes[row])
    if mood_code >= 0 and catalog.mood_ids[mood_code] == mood_id:
        return f"tagged {mood_name} in the catalog"
    return None


def _personal_reasons(catalog: Catalog, personal: _Personal, row: int) -> list[str]:
    reasons: list[str] = []
    if len(personal.liked_rows):
        similarity = _similarity(catalog, np.array([row]), personal.liked_rows)[0] * (personal.liked_scores - 2.0) / 3.0
        best = int(np.argmax(similarity))
        liked_row = int(personal.liked_rows[best])
        if similarity[best] >= REASON_SIMILAR_MIN:
            score = int(personal.liked_scores[best])
            if liked_row == row:
                reasons.append(f"you rated it {score}/5")
            else:
                title, artist = catalog.titles[liked_row], catalog.artists[catalog.artist_codes[liked_row]]
                by = f" by {artist}" if artist and not artist.startswith("#") else ""
                reasons.append(f"like '{title}'{by}, which you rated {score}")
    artist_code = int(catalog.artist_codes[row])
    if personal.artist_affinity[artist_code] > REASON_AFFINITY_MIN and catalog.artists[artist_code]:
        reasons.append(f"you rate songs by {catalog.artists[artist_code]} highly")
    genre_code = int(catalog.genre_codes[row])
    if personal.genre_affinity[genre_code] > REASON_AFFINITY_MIN and catalog.genres[genre_code]:
        reasons.append(f"you like {catalog.genres[genre_code]}")
    return reasons
