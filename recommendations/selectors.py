"""Reads for recommendations: the mood map, ratings and history, always scoped to the user who asks."""

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import User
from accounts.selectors import account_export
from catalog.models import Mood, Song
from detection.models import EMOTION_WORDS, Detection, DetectionStatus
from detection.selectors import detections_export, detections_for, outcomes_export_for
from recommendations import engine, mood_map
from recommendations.catalog_cache import current_catalog
from recommendations.engine import UserRatings
from recommendations.map_ranking import catalog_map, map_scores
from recommendations.models import EmotionPlace, Rating, StrategyMove
from recommendations.mood_map import MapPoint


@dataclass(frozen=True)
class MapSettings:
    """The admins' places and moves, the defaults filling in what they have not set."""

    places: dict[str, MapPoint]
    moves: dict[str, float]


def map_settings() -> MapSettings:
    """The emotions' places and the strategies' moves on the mood map (two small queries)."""
    places = dict(mood_map.DEFAULT_PLACES)
    for emotion, valence, energy in EmotionPlace.objects.values_list("emotion", "valence", "energy"):
        places[emotion] = MapPoint.clipped(valence, energy)
    moves = dict(mood_map.DEFAULT_MOVES)
    moves.update(StrategyMove.objects.values_list("strategy", "amount"))
    return MapSettings(places=places, moves=moves)


@dataclass(frozen=True)
class MoodMix:
    """A reading on the mood map: its point, the strategy's target, and the mood whose region holds it."""

    mood: Mood | None  # None for an unknown emotion or strategy, or a catalog without moods
    weights: dict[int, float]  # mood id -> 1.0 for the named mood (the engine's profile mix)
    point: MapPoint | None = None
    target: MapPoint | None = None
    shares: dict[str, float] = field(default_factory=dict)  # the emotions' shares that made the point


def mood_mix_for(*, emotion: str, strategy: str, probabilities: Mapping[str, float] | None = None) -> MoodMix:
    """The reading's point, its target under the strategy, and the mood of the target's region.

    The probability vector is only trusted when it agrees with the emotion:
    after a user corrects a detection, or picks an emotion by hand, that
    emotion's place alone is the point.
    """
    (mix,) = _mood_mixes(
        readings=[(emotion, probabilities)], strategy=strategy, settings=map_settings(), catalog=current_catalog()
    )
    return mix


def _trusted_shares(*, emotion: str, probabilities: Mapping[str, float] | None) -> dict[str, float]:
    alone = {emotion: 1.0}
    if not probabilities or not isinstance(probabilities, Mapping):
        return alone
    clean = {
        key: float(value)
        for key, value in probabilities.items()
        if key in mood_map.EMOTIONS and _is_probability(value) and float(value) > 0
    }
    if not clean or max(clean, key=clean.__getitem__) != emotion:
        return alone
    total = sum(clean.values())
    return {key: value / total for key, value in clean.items()}


def _mood_mixes(
    *,
    readings: Sequence[tuple[str, Mapping[str, float] | None]],
    strategy: str,
    settings: MapSettings,
    catalog: engine.Catalog,
) -> list[MoodMix]:
    regions = catalog_map(catalog).regions
    if not regions.mood_ids:
        regions = mood_map.default_regions(dict(Mood.objects.values_list("id", "name")))
    mixes: list[tuple[dict[str, float], MapPoint | None, MapPoint | None, int | None]] = []
    for emotion, probabilities in readings:
        if emotion not in mood_map.EMOTIONS or strategy not in mood_map.STRATEGIES:
            mixes.append(({}, None, None, None))
            continue
        shares = _trusted_shares(emotion=emotion, probabilities=probabilities)
        point = mood_map.reading_point(shares, settings.places)
        target = mood_map.strategy_target(point, strategy=strategy, amount=settings.moves.get(strategy))
        mixes.append((shares, point, target, regions.mood_of(target)))
    moods = Mood.objects.in_bulk({mood_id for *_, mood_id in mixes if mood_id is not None})
    return [
        MoodMix(
            mood=moods.get(mood_id) if mood_id is not None else None,
            weights={mood_id: 1.0} if mood_id in moods else {},
            point=point,
            target=target,
            shares=shares,
        )
        for shares, point, target, mood_id in mixes
    ]


@dataclass(frozen=True)
class MoodMapView:
    """The mood map as the admins and the catalog set it, and where a point lands on it."""

    places: dict[str, MapPoint]
    moves: dict[str, float]
    centres: list[tuple[Mood, MapPoint]]  # each mood's region, by its centroid
    strategy: str
    point: MapPoint | None = None
    target: MapPoint | None = None
    mood: Mood | None = None


def mood_map_for(*, strategy: str, point: MapPoint | None = None) -> MoodMapView:
    """The map (places, moves, regions) and, for a point, its target under the strategy and the mood named."""
    settings = map_settings()
    regions = catalog_map(current_catalog()).regions
    if not regions.mood_ids:
        regions = mood_map.default_regions(dict(Mood.objects.values_list("id", "name")))
    moods = Mood.objects.in_bulk(list(regions.mood_ids))
    centres = [
        (moods[mood_id], MapPoint.clipped(*centroid))
        for mood_id, centroid in zip(regions.mood_ids, regions.centroids.tolist(), strict=True)
        if mood_id in moods
    ]
    view = MoodMapView(places=settings.places, moves=settings.moves, centres=centres, strategy=strategy)
    if point is None:
        return view
    target = mood_map.strategy_target(point, strategy=strategy, amount=settings.moves.get(strategy))
    mood_id = regions.mood_of(target)
    return replace(view, point=point, target=target, mood=moods.get(mood_id) if mood_id is not None else None)


# An emotion with less of the face than this is not named in the one-line
# explanation of a mixed reading: it barely moved the point.
MIX_NAMED_SHARE = 0.1
MIX_NAMED_MOST = 3


@dataclass(frozen=True)
class MoodChoice:
    """The mood a strategy picks for a detection, in words for its pages, with its place on the map."""

    mood: str | None  # the catalog's mood name; None when the map names none, or no result yet
    because: str = ""  # one plain line when a mix of emotions decided it, else ""
    point: MapPoint | None = None  # the reading on the mood map
    target: MapPoint | None = None  # where the strategy moves it


def detection_moods_for(*, detections: Sequence[Detection], strategy: str) -> list[MoodChoice]:
    """Each detection's mood under one strategy (None for one not finished), the map read once."""
    finished = [
        detection
        for detection in detections
        if detection.status == DetectionStatus.DONE and detection.effective_emotion
    ]
    mixes = (
        _mood_mixes(
            readings=[(detection.effective_emotion, detection.probabilities) for detection in finished],
            strategy=strategy,
            settings=map_settings(),
            catalog=current_catalog(),
        )
        if finished
        else []
    )
    by_detection = {detection.pk: mix for detection, mix in zip(finished, mixes, strict=True)}
    choices = []
    for detection in detections:
        mix = by_detection.get(detection.pk)
        if mix is None:
            choices.append(MoodChoice(mood=None))
            continue
        choices.append(
            MoodChoice(
                mood=mix.mood.name if mix.mood else None,
                because=mood_mix_in_words(mix=mix),
                point=mix.point,
                target=mix.target,
            )
        )
    return choices


def detection_mood_for(*, detection: Detection, strategy: str | None = None) -> MoodChoice:
    """The detection's mood under a strategy, by default its owner's current one."""
    return detection_moods_for(detections=[detection], strategy=strategy or detection.user.strategy)[0]


def mood_mix_in_words(*, mix: MoodMix) -> str:
    """One line when a mix of emotions placed the reading ("Angry 30% and scared 30% together → Calm songs.").

    "" when one emotion decided it: the mix was not used (a correction, a pick
    by hand), or the top emotion holds half the face or more.
    """
    if mix.mood is None or not mix.shares or max(mix.shares.values()) >= 0.5:
        return ""
    voters = sorted(
        ((share, emotion) for emotion, share in mix.shares.items() if share >= MIX_NAMED_SHARE),
        # The largest share first; equal shares in the API's order of emotions.
        key=lambda voter: (-voter[0], list(EMOTION_WORDS).index(voter[1])),
    )[:MIX_NAMED_MOST]
    if len(voters) < 2:
        return ""
    named = [f"{EMOTION_WORDS[emotion]} {round(share * 100)}%" for share, emotion in voters]
    listed = ", ".join(named[:-1]) + " and " + named[-1]
    return f"{listed[0].upper()}{listed[1:]} together → {mix.mood.name} songs."


def _is_probability(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= float(value) <= 1.0


def ratings_for(*, user: User) -> QuerySet[Rating]:
    """The user's ratings, newest first."""
    return (
        Rating.objects.filter(user=user).select_related("song", "song__mood", "detection").order_by("-created", "-id")
    )


def rating_for_user(*, user: User, rating_id: int) -> Rating:
    """The user's own rating, or 404."""
    return get_object_or_404(Rating, pk=rating_id, user=user)


@dataclass(frozen=True)
class Recommendation:
    song: Song
    score: float
    reasons: list[str]
    explore: bool
    rating: int | None  # the user's stars for this song in this context, if any


@dataclass(frozen=True)
class RecommendationList:
    emotion: str
    mood: Mood | None
    strategy: str
    results: list[Recommendation]
    mood_reason: str = ""  # one plain line when a mix of emotions chose the mood
    point: MapPoint | None = None  # the reading on the mood map
    target: MapPoint | None = None  # where the strategy moves it: the mood is the region holding it


def recommendations_for(
    *,
    user: User,
    emotion: str,
    strategy: str,
    probabilities: Mapping[str, float] | None = None,
    limit: int = 10,
    detection_id: int | None = None,
    favourites: bool = False,
) -> RecommendationList:
    """The user's list for an emotion under a strategy, reflecting every rating made so far.

    detection_id only says which of the user's own ratings to show beside each
    song (those of that selfie, or those made without one).
    """
    catalog = current_catalog()
    (mix,) = _mood_mixes(
        readings=[(emotion, probabilities)], strategy=strategy, settings=map_settings(), catalog=catalog
    )
    rated = list(
        Rating.objects.filter(user=user)
        .order_by("id")
        .values_list("song_id", "score", "emotion", "updated", "detection_id")
    )
    ratings = UserRatings.from_triples(catalog, [(song_id, score, rated_in) for song_id, score, rated_in, *_ in rated])
    shown_rating = {song_id: score for song_id, score, _, _, rated_for in rated if rated_for == detection_id}
    # Exploration is random but stable between two identical requests; a new
    # rating (or another emotion) draws new songs.
    latest = max((str(changed) for _, _, _, changed, _ in rated), default="")
    seed = zlib.crc32(f"{user.pk}:{len(rated)}:{latest}:{emotion}:{strategy}".encode())
    content = None
    if mix.target is not None:
        # Variety is seeded by the user alone: two new users with one reading get different lists,
        # and one user gets the same list for the same reading.
        scores = map_scores(catalog, target=mix.target, seed=variety_seed(user_id=user.pk), minimum=limit)
        content = (scores.content, scores.profile)
    picks = engine.recommend(
        catalog,
        mood_weights=mix.weights,
        mood_id=mix.mood.pk if mix.mood else None,
        mood_name=mix.mood.name if mix.mood else None,
        ratings=ratings,
        emotion=emotion,
        limit=limit,
        seed=seed,
        favourites=favourites,
        content=content,
    )
    songs = Song.objects.select_related("mood").in_bulk([int(catalog.song_ids[pick.row]) for pick in picks])
    results = [
        Recommendation(
            song=songs[song_id],
            score=pick.score,
            reasons=pick.reasons,
            explore=pick.explore,
            rating=shown_rating.get(song_id),
        )
        for pick in picks
        # A song deleted since the matrix was built is skipped rather than failing the list.
        if (song_id := int(catalog.song_ids[pick.row])) in songs
    ]
    return RecommendationList(
        emotion=emotion,
        mood=mix.mood,
        strategy=strategy,
        results=results,
        mood_reason=mood_mix_in_words(mix=mix),
        point=mix.point,
        target=mix.target,
    )


def variety_seed(*, user_id: int) -> int:
    """The seed of a user's variety on the mood map: the same for one user, different between users."""
    return zlib.crc32(f"variety:{user_id}".encode())


def ratings_export_for(*, user: User) -> dict[str, list[dict[str, Any]]]:
    """The data export's ratings section: the user's ratings, newest first."""
    ratings = Rating.objects.filter(user=user).select_related("song").order_by("-created", "-id")
    return {
        "ratings": [
            {
                "id": rating.pk,
                "song": {
                    "id": rating.song_id,
                    "name": rating.song.name,
                    "artist": rating.song.artist,
                    "spotify_id": rating.song.spotify_id,
                },
                "score": rating.score,
                "detection": rating.detection_id,
                "emotion": rating.emotion or None,
                "created": rating.created,
                "updated": rating.updated,
            }
            for rating in ratings
        ],
    }


def user_export(*, user: User) -> dict[str, Any]:
    """Everything stored about the user, for them to download: account, detections, corrections, outcomes, ratings.

    Photos are left out (only whether one is still stored), and so are the password hash and the API
    token. Blank emotions are None, as in the API. Each detection carries the mood it gets under the
    user's current strategy, as the pages show it (not stored).
    """
    detections = list(detections_for(user=user))
    sections = detections_export(detections=detections)
    moods = detection_moods_for(detections=detections, strategy=user.strategy)
    for row, mood in zip(sections["detections"], moods, strict=True):
        row["mood"] = mood.mood
    return {
        "exported": timezone.now(),
        "account": account_export(user=user),
        **sections,
        **outcomes_export_for(user=user),
        **ratings_export_for(user=user),
    }
