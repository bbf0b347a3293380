"""Reads for recommendations: the mood map, ratings and history, always scoped to the user who asks."""

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import Strategy, User
from accounts.selectors import account_export
from catalog.models import Mood, Song
from detection.models import EMOTION_WORDS, Detection, DetectionStatus
from detection.selectors import detections_export, detections_for, outcomes_export_for
from recommendations import engine, map_figure, mood_map
from recommendations.catalog_cache import current_catalog, current_map_state
from recommendations.engine import UserRatings, genre_key, genres_allowed
from recommendations.map_ranking import catalog_map, map_scores
from recommendations.models import ExcludedGenre, Rating
from recommendations.mood_map import MapPoint


@dataclass(frozen=True)
class MapSettings:
    """The admins' places and moves, the defaults filling in what they have not set, and the moods' centres."""

    places: dict[str, MapPoint]
    moves: dict[str, float]
    # mood id -> its region's centre, the catalog's (catalog.selectors.mood_centres_get): the same
    # centres that gave the songs their predicted moods
    centres: dict[int, MapPoint] = field(default_factory=dict)
    # The catalog matrix read with the centres (one freshness check a request, not one per use)
    catalog: engine.Catalog | None = None
    moods: dict[int, Mood] = field(default_factory=dict)  # every mood, by id, as this request read them


def map_settings() -> MapSettings:
    """The emotions' places, the strategies' moves, the moods and their region centres: one query, read with
    the catalog's freshness check (recommendations.catalog_cache.catalog_state_read)."""
    current = current_map_state()
    places = dict(mood_map.DEFAULT_PLACES)
    for emotion, valence, energy in current.state.places:
        places[emotion] = MapPoint.clipped(valence, energy)
    moves = dict(mood_map.DEFAULT_MOVES)
    moves.update(current.state.moves)
    return MapSettings(
        places=places,
        moves=moves,
        centres={mood_id: MapPoint.clipped(*centre) for mood_id, centre in current.centres.items()},
        catalog=current.catalog,
        moods={mood.pk: mood for mood in current.state.moods},
    )


def _regions(catalog: engine.Catalog, settings: MapSettings) -> mood_map.MoodRegions:
    """The moods' regions: the catalog's centres (the defaults before any song is labelled)."""
    regions = catalog_map(catalog, settings.centres).regions
    if not regions.mood_ids:
        regions = mood_map.default_regions({mood_id: mood.name for mood_id, mood in settings.moods.items()})
    return regions


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
    settings = map_settings()
    (mix,) = _mood_mixes(
        readings=[(emotion, probabilities)], strategy=strategy, settings=settings, catalog=settings.catalog
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
    chosen_point: MapPoint | None = None,
) -> list[MoodMix]:
    """`chosen_point`: a place on the map picked by hand, used as the readings' point."""
    regions = _regions(catalog, settings)
    mixes: list[tuple[dict[str, float], MapPoint | None, MapPoint | None, int | None]] = []
    for emotion, probabilities in readings:
        if emotion not in mood_map.EMOTIONS or strategy not in mood_map.STRATEGIES:
            mixes.append(({}, None, None, None))
            continue
        if chosen_point is not None:
            shares, point = {}, chosen_point
        else:
            shares = _trusted_shares(emotion=emotion, probabilities=probabilities)
            point = mood_map.reading_point(shares, settings.places)
        target = mood_map.strategy_target(point, strategy=strategy, amount=settings.moves.get(strategy))
        mixes.append((shares, point, target, regions.mood_of(target)))
    moods = settings.moods
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
    regions = _regions(settings.catalog, settings)
    moods = settings.moods
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


def emotion_at(*, point: MapPoint) -> str:
    """The emotion whose place is nearest a point picked on the map: the context its ratings are kept in."""
    return mood_map.nearest_emotion(point, map_settings().places)


# The most songs a drawn map highlights (the API's longest list).
MAP_SONGS_MOST = 50


def mood_map_figure_for(
    *,
    user: User,
    strategy: str,
    emotion: str = "",
    probabilities: Mapping[str, float] | None = None,
    point: MapPoint | None = None,
    detection_id: int | None = None,
    song_ids: Sequence[int] | None = None,
) -> map_figure.MapFigure:
    """The mood map drawn for a page: the regions, the reading (an emotion's, or a point picked by hand) and
    its target, and the songs listed: `song_ids`, or, when None, the user's list as the page first loads it."""
    settings = map_settings()
    catalog = settings.catalog
    regions = _regions(catalog, settings)
    names = {mood_id: settings.moods[mood_id].name for mood_id in regions.mood_ids if mood_id in settings.moods}
    mix = None
    if point is not None:
        emotion = emotion or mood_map.nearest_emotion(point, settings.places)
    if emotion:
        (mix,) = _mood_mixes(
            readings=[(emotion, probabilities)],
            strategy=strategy,
            settings=settings,
            catalog=catalog,
            chosen_point=point,
        )
    if song_ids is None:
        songs = []
        if mix is not None and mix.target is not None:
            listed = recommendations_for(
                user=user,
                emotion=emotion,
                strategy=strategy,
                probabilities=probabilities,
                detection_id=detection_id,
                point=point,
            )
            songs = [result.song for result in listed.results]
    else:
        found = Song.objects.only("id", "name", "valence", "energy").in_bulk(list(song_ids)[:MAP_SONGS_MOST])
        songs = [found[song_id] for song_id in song_ids if song_id in found]
    return map_figure.map_figure(
        sample=map_figure.catalog_sample(catalog),
        catalog_size=catalog.size,
        regions=[
            (names.get(mood_id, str(mood_id)), MapPoint.clipped(*centroid))
            for mood_id, centroid in zip(regions.mood_ids, regions.centroids.tolist(), strict=True)
        ],
        point=mix.point if mix else None,
        target=mix.target if mix else None,
        point_label="Your point" if point is not None else "Your reading",
        strategy_label=Strategy(strategy).label if strategy in Strategy.values else "",
        mood_name=mix.mood.name if mix and mix.mood else None,
        songs=[(song.pk, song.name, MapPoint.clipped(song.valence, song.energy)) for song in songs],
    )


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
    settings = map_settings() if finished else None
    mixes = (
        _mood_mixes(
            readings=[(detection.effective_emotion, detection.probabilities) for detection in finished],
            strategy=strategy,
            settings=settings,
            catalog=settings.catalog,
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
class GenreCount:
    name: str  # as the recommender compares genres: lower case
    songs: int


def genres_in_catalog() -> list[GenreCount]:
    """The catalog's genres, by name, with how many songs each holds; songs without a genre are in none.

    Read from the catalog matrix the recommender ranks, so the genres offered are the ones it can filter by.
    """
    catalog = current_catalog()
    counts = np.bincount(catalog.genre_codes, minlength=len(catalog.genres)) if catalog.size else []
    return sorted(
        (
            GenreCount(name=genre, songs=int(count))
            for genre, count in zip(catalog.genres, counts, strict=True)
            if genre
        ),
        key=lambda genre: genre.name,
    )


def excluded_genres_for(*, user: User) -> list[str]:
    """The genres the user left out in their profile, by name."""
    return list(ExcludedGenre.objects.filter(user=user).order_by("genre").values_list("genre", flat=True))


# How many of the catalog's genres a sentence names when it says which ones there are.
GENRES_NAMED = 8


def genres_in_words(genres: Sequence[GenreCount]) -> str:
    """ "rock, pop, rap and 3 more": the genres with the most songs first."""
    names = [genre.name for genre in sorted(genres, key=lambda genre: (-genre.songs, genre.name))]
    if len(names) > GENRES_NAMED:
        return f"{', '.join(names[:GENRES_NAMED])} and {len(names) - GENRES_NAMED} more"
    return _and_list(names)


def _and_list(names: Sequence[str]) -> str:
    """ "rock", "rock and pop", "rock, pop and rap"."""
    return " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else "".join(names)


def genre_filter_clean(*, user: User, genre: str) -> str:
    """The genre a list is filtered by, as the recommender compares it ("" for every genre).

    ValidationError on "genre" for one the catalog does not have, or one the user left out in their
    profile: a list filtered by it would always be empty, so the answer says why instead.
    """
    genre = genre.replace("\x00", "").strip()
    key = genre_key(genre)
    if not key:
        return ""
    genres = genres_in_catalog()
    if key not in {known.name for known in genres}:
        shown = genre[:100]
        raise ValidationError(
            {
                "genre": f"The catalog has no genre “{shown}”. Pick one of its genres ({genres_in_words(genres)}), "
                "or none for every genre."
                if genres
                else f"The catalog has no genre “{shown}”: none of its songs has a genre yet."
            }
        )
    if ExcludedGenre.objects.filter(user=user, genre=key).exists():
        raise ValidationError(
            {"genre": f"You left {key} out in your profile. Include it again there to filter your songs by it."}
        )
    return key


def _few_songs_notice(*, count: int, limit: int, genre: str, excluded: Sequence[str], mood: Mood | None) -> str:
    """One plain line when the genres left out, or the one filtered by, leave fewer songs than asked for."""
    if count >= limit or not (genre or excluded):
        return ""
    in_mood = f"in the {mood.name} mood" if mood else "for this reading"
    if genre:
        if not count:
            return f"No {genre} songs are {in_mood}. Pick another genre, or all genres."
        return f"Only {count} {genre} song{'s are' if count > 1 else ' is'} {in_mood}."
    left_out = _and_list(excluded) if len(excluded) <= 3 else f"{len(excluded)} genres"
    if not count:
        return f"No songs are left {in_mood} once {left_out} are left out. Include a genre again in your profile."
    return (
        f"Only {count} song{'s are' if count > 1 else ' is'} left {in_mood} once {left_out} are left out. "
        "Include a genre again in your profile for more."
    )


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
    genre: str = ""  # the genre the list is filtered by, "" for every genre
    notice: str = ""  # one plain line when the genres leave fewer songs than asked for


def recommendations_for(
    *,
    user: User,
    emotion: str,
    strategy: str,
    probabilities: Mapping[str, float] | None = None,
    limit: int = 10,
    detection_id: int | None = None,
    favourites: bool = False,
    genre: str = "",
    point: MapPoint | None = None,
) -> RecommendationList:
    """The user's list for an emotion under a strategy, reflecting every rating made so far.

    `point`: a place on the mood map picked by hand, used as the reading's point (`emotion` is then
    the context its ratings are kept in: `emotion_at`).

    detection_id only says which of the user's own ratings to show beside each
    song (those of that selfie, or those made without one). No song of a genre the
    user left out is listed; `genre` keeps only that genre's songs (ValidationError
    for one the catalog lacks or the user left out: `genre_filter_clean`).
    """
    genre = genre_filter_clean(user=user, genre=genre)
    excluded = excluded_genres_for(user=user)
    settings = map_settings()
    catalog = settings.catalog
    # A mask over the matrix (microseconds at 200,000 songs), not a query per request.
    allowed = genres_allowed(catalog, excluded=excluded, only=genre)
    (mix,) = _mood_mixes(
        readings=[(emotion, probabilities)], strategy=strategy, settings=settings, catalog=catalog, chosen_point=point
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
        scores = map_scores(
            catalog,
            target=mix.target,
            seed=variety_seed(user_id=user.pk),
            minimum=limit,
            allowed=allowed,
            centres=settings.centres,
        )
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
        allowed=allowed,
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
        genre=genre,
        notice=_few_songs_notice(count=len(results), limit=limit, genre=genre, excluded=excluded, mood=mix.mood),
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
    """Everything stored about the user, for them to download: account, detections, corrections, outcomes, ratings,
    the genres they left out.

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
        "excluded_genres": excluded_genres_for(user=user),
    }
