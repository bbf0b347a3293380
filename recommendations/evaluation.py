"""Offline evaluation: simulated listeners with hidden tastes rate what the engine shows them.

Each simulated user has a hidden taste: a random direction over the
standardized audio features, plus a few genres they love and a few they
dislike. How much they like a song in a session is that taste (70%) plus how
well the song fits the mood the session's emotion calls for (30%), turned
into 1-5 stars by the quantiles of the whole catalog (15% of songs would get
one star from them, 25% two, 30% three, 20% four, 10% five).

A user asks for lists for random emotions and rates every song shown that
they have not rated yet (with a little noise), until they have given 10,
20, 40 ratings. At 0, 10, 20 and 40 ratings we ask, for each of the seven
emotions, for the top 10 among the songs they have NOT rated, from the
personalized engine and from the same engine without the user's ratings
(the non-personalized ranking), and average the stars the user would give
those songs (without noise). Both use the very code that answers the API:
the songs of the target's region on the mood map, with each user's variety,
reordered by the engine's learning from the user's ratings.
"""

import csv
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from recommendations import engine
from recommendations.engine import FEATURES, Catalog, SongRow, UserRatings
from recommendations.map_ranking import map_scores
from recommendations.mood_map import MapPoint

EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
CHECKPOINTS = (0, 10, 20, 40)
STAR_SHARES = (0.15, 0.25, 0.30, 0.20, 0.10)  # of the catalog, for 1..5 stars
TASTE_SHARE = 0.7
RATING_NOISE = 0.25
LIST_SIZE = 10


@dataclass
class CheckpointResult:
    ratings: int
    personalized_mean: float
    baseline_mean: float
    personalized_liked_share: float  # share of 4-5 star songs in the list
    baseline_liked_share: float
    best_possible_mean: float  # the 10 best unrated songs for this user, an upper bound

    @property
    def gain(self) -> float:
        return self.personalized_mean - self.baseline_mean


@dataclass
class EvaluationReport:
    users: int
    catalog_songs: int
    catalog_source: str
    strategy: str
    seed: int
    checkpoints: list[CheckpointResult] = field(default_factory=list)

    def as_dict(self) -> dict:
        data = asdict(self)
        for checkpoint, result in zip(data["checkpoints"], self.checkpoints, strict=True):
            checkpoint["gain"] = result.gain
        return data


def seed_catalog_rows(songs_csv: Path, genres_csv: Path | None, mood_ids: Mapping[str, int]) -> list[SongRow]:
    """The bundled catalog straight from its CSV, with mood names mapped to the database's mood ids."""
    genres: dict[str, str] = {}
    if genres_csv is not None and genres_csv.exists():
        with genres_csv.open(encoding="utf-8") as handle:
            genres = {row["id"]: row["genre"] for row in csv.DictReader(handle)}
    rows = []
    with songs_csv.open(encoding="utf-8") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=1):
            rows.append(
                SongRow(
                    song_id=number,
                    title=row["name"],
                    artist=row["artist"],
                    genre=genres.get(row["id"], ""),
                    mood_id=mood_ids.get(row.get("mood", "").lower()),
                    mood_labelled=True,
                    popularity=float(row["popularity"]),
                    values={name: float(row[name]) for name in FEATURES},
                )
            )
    return rows


@dataclass
class _Listener:
    taste: np.ndarray  # (n,) taste utility per song, standardized
    rng: np.random.Generator

    def stars(self, utility: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
        return 1 + np.searchsorted(thresholds, utility, side="right")


def _standardize(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / (values.std() + 1e-9)


def _make_listener(catalog: Catalog, rng: np.random.Generator) -> _Listener:
    direction = rng.normal(size=catalog.features.shape[1])
    direction /= np.linalg.norm(direction)
    taste = catalog.features @ direction
    genre_codes = catalog.genre_codes
    counts = np.bincount(genre_codes, minlength=len(catalog.genres)).astype(float)
    counts[[index for index, name in enumerate(catalog.genres) if not name]] = 0
    if counts.sum() > 0:
        chosen = rng.choice(len(counts), size=min(5, int((counts > 0).sum())), replace=False, p=counts / counts.sum())
        affinity = np.zeros(len(counts))
        affinity[chosen[:3]] = 1.5
        affinity[chosen[3:]] = -1.5
        taste = taste + affinity[genre_codes]
    return _Listener(taste=_standardize(taste), rng=rng)


def evaluate(
    catalog: Catalog,
    *,
    mood_weights_for: Callable[[str], tuple[dict[int, float], int | None, str | None]],
    users: int = 100,
    seed: int = 7,
    strategy: str = "match",
    catalog_source: str = "",
    progress: Callable[[int], None] | None = None,
    targets: Mapping[str, MapPoint | None] | None = None,
) -> EvaluationReport:
    """`targets`: each emotion's target on the mood map, so that the lists are ranked as the API ranks them (the
    songs of the target's region, with each user's variety); without them, by the mood's profile alone."""
    rng = np.random.default_rng(seed)
    report = EvaluationReport(
        users=users, catalog_songs=catalog.size, catalog_source=catalog_source, strategy=strategy, seed=seed
    )
    fits = {}
    for emotion in EMOTIONS:
        weights, _, _ = mood_weights_for(emotion)
        content, _ = engine.content_scores(catalog, weights)
        fits[emotion] = _standardize(content.astype(np.float64))
    sums = {k: np.zeros(6) for k in CHECKPOINTS}

    for user_number in range(users):
        listener = _make_listener(catalog, np.random.default_rng(rng.integers(2**32)))
        utilities = {e: TASTE_SHARE * listener.taste + (1 - TASTE_SHARE) * fits[e] for e in EMOTIONS}
        # The map's content for this user (their variety included) is the same for every list of one emotion.
        contents = {e: _map_content(catalog, (targets or {}).get(e), user_seed=user_number) for e in EMOTIONS}
        thresholds = {e: np.quantile(utilities[e], np.cumsum(STAR_SHARES)[:-1]) for e in EMOTIONS}
        true_stars = {e: listener.stars(utilities[e], thresholds[e]) for e in EMOTIONS}
        triples: list[tuple[int, int, str]] = []
        rated: set[int] = set()
        session = 0
        for checkpoint in CHECKPOINTS:
            while len(triples) < checkpoint:
                emotion = EMOTIONS[listener.rng.integers(len(EMOTIONS))]
                weights, mood_id, mood_name = mood_weights_for(emotion)
                picks = engine.recommend(
                    catalog,
                    mood_weights=weights,
                    mood_id=mood_id,
                    mood_name=mood_name,
                    ratings=_ratings(catalog, triples),
                    emotion=emotion,
                    limit=LIST_SIZE,
                    seed=user_number * 1000 + session,
                    content=contents[emotion],
                )
                session += 1
                for pick in picks:
                    if pick.row in rated or len(triples) >= checkpoint:
                        continue
                    noisy = utilities[emotion][pick.row] + listener.rng.normal(scale=RATING_NOISE)
                    score = int(listener.stars(np.array([noisy]), thresholds[emotion])[0])
                    triples.append((int(catalog.song_ids[pick.row]), score, emotion))
                    rated.add(pick.row)
            ratings = _ratings(catalog, triples)
            for emotion in EMOTIONS:
                weights, mood_id, mood_name = mood_weights_for(emotion)
                common = {
                    "mood_weights": weights,
                    "mood_id": mood_id,
                    "mood_name": mood_name,
                    "emotion": emotion,
                    "content": contents[emotion],
                }
                personal = engine.recommend(
                    catalog, **common, ratings=ratings, limit=LIST_SIZE, seed=user_number, exclude_rated=True
                )
                baseline = _baseline(catalog, common, rated)
                stars = true_stars[emotion]
                unrated = np.ones(catalog.size, dtype=bool)
                unrated[list(rated)] = False
                best = np.sort(stars[unrated])[::-1][:LIST_SIZE]
                personal_stars = stars[[pick.row for pick in personal]]
                baseline_stars = stars[baseline]
                sums[checkpoint] += [
                    personal_stars.mean(),
                    baseline_stars.mean(),
                    (personal_stars >= 4).mean(),
                    (baseline_stars >= 4).mean(),
                    best.mean(),
                    1,
                ]
        if progress:
            progress(user_number + 1)

    for checkpoint in CHECKPOINTS:
        total = sums[checkpoint]
        count = total[5]
        report.checkpoints.append(
            CheckpointResult(
                ratings=checkpoint,
                personalized_mean=round(total[0] / count, 3),
                baseline_mean=round(total[1] / count, 3),
                personalized_liked_share=round(total[2] / count, 3),
                baseline_liked_share=round(total[3] / count, 3),
                best_possible_mean=round(total[4] / count, 3),
            )
        )
    return report


def _map_content(
    catalog: Catalog, target: MapPoint | None, *, user_seed: int
) -> tuple[np.ndarray, np.ndarray | None] | None:
    """The mood map's content score for one user and target, as `recommendations_for` computes it."""
    if target is None:
        return None
    scores = map_scores(catalog, target=target, seed=user_seed, minimum=LIST_SIZE)
    return scores.content, scores.profile


def _ratings(catalog: Catalog, triples: list[tuple[int, int, str]]) -> UserRatings:
    return UserRatings.from_triples(catalog, triples)


def _baseline(catalog: Catalog, common: dict, rated: set[int]) -> list[int]:
    """The non-personalized ranking (the same engine with no ratings), minus the songs this user rated."""
    picks = engine.recommend(
        catalog, **common, ratings=UserRatings.empty(), limit=LIST_SIZE + len(rated), seed=0, exclude_rated=False
    )
    return [pick.row for pick in picks if pick.row not in rated][:LIST_SIZE]


def markdown(report: EvaluationReport, labelled: EvaluationReport | None = None) -> str:
    """The report; `labelled`: the same evaluation on the 686 labelled songs alone, shown beside it."""
    lines = [
        "# Recommender evaluation: does learning from ratings help?",
        "",
        f"Generated by `manage.py evaluate_recommender --users {report.users} --seed {report.seed}` "
        f"on {report.catalog_songs} songs ({report.catalog_source}), strategy `{report.strategy}`.",
        "",
        "Simulated listeners with hidden tastes (a random direction over the standardized audio features, "
        "three loved and two disliked genres; 70% taste, 30% fit to the mood the emotion calls for) rate "
        "every song they are shown, with noise. At each checkpoint, for each of the seven emotions, the top 10 "
        "among the songs the listener has **not rated yet** is scored with the stars the listener would give. "
        "Lists are ranked as the API ranks them (the songs of the target's region on the mood map, with each "
        "listener's variety); the non-personalized ranking is the same engine without the listener's ratings.",
        "",
        "| ratings given | personalized mean ★ | non-personalized mean ★ | gain | 4-5★ share, personalized "
        "| 4-5★ share, non-personalized | best possible mean ★ |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in report.checkpoints:
        lines.append(
            f"| {result.ratings} | {result.personalized_mean:.2f} | {result.baseline_mean:.2f} | "
            f"{result.gain:+.2f} | {result.personalized_liked_share:.0%} | {result.baseline_liked_share:.0%} | "
            f"{result.best_possible_mean:.2f} |"
        )
    lines += [
        "",
        "At 0 ratings both lists are the same content ranking (only the exploration share differs), so the gain "
        "is about zero by design; every later row is the effect of the user's own ratings. "
        '"Best possible" is the mean of the 10 best unrated songs for that listener, an upper bound no '
        "recommender can pass. The simulated taste is a model of real listeners, not a measurement of them.",
        "",
    ]
    if labelled is not None:
        lines += _side_by_side(report, labelled)
    return "\n".join(lines)


def _side_by_side(report: EvaluationReport, labelled: EvaluationReport) -> list[str]:
    lines = [
        f"## {report.catalog_songs:,} songs beside the {labelled.catalog_songs:,} labelled songs alone",
        "",
        f"Listeners drawn the same way (seed {labelled.seed}, {labelled.users} users) on {labelled.catalog_source}. "
        "Mean ★ of the unrated top 10, personalized / non-personalized, and the gain.",
        "",
        f"| ratings given | {report.catalog_songs:,} songs | gain | {labelled.catalog_songs:,} labelled songs | gain |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for large, small in zip(report.checkpoints, labelled.checkpoints, strict=True):
        lines.append(
            f"| {large.ratings} | {large.personalized_mean:.2f} / {large.baseline_mean:.2f} | {large.gain:+.2f} | "
            f"{small.personalized_mean:.2f} / {small.baseline_mean:.2f} | {small.gain:+.2f} |"
        )
    lines += [
        "",
        "A listener's three loved and two disliked genres are drawn in proportion to the genres' sizes. The "
        "TidyTuesday songs carry one of six playlist genres, so on the large catalog those five genres cover most "
        "songs and weigh in most of a listener's taste; among the labelled songs' 193 genres they cover few "
        "songs, and the audio features carry most of the taste. The learner fits both: a ridge regression over the "
        "audio features and the genres and artists the listener rated, predicting for every candidate of the "
        "mood's region.",
        "",
    ]
    return lines
