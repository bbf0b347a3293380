"""Reads for recommendations: rules, ratings and history, always scoped to the user who asks."""

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from catalog.models import Mood, Song
from detection.models import EMOTION_WORDS, Detection, DetectionStatus
from detection.selectors import MoodChoice
from recommendations import engine
from recommendations.catalog_cache import current_catalog
from recommendations.defaults import DEFAULT_RULES
from recommendations.engine import UserRatings
from recommendations.models import EmotionMoodRule, Rating


def mood_rules_for(*, strategy: str) -> dict[str, Mood]:
    """emotion -> mood for one strategy, as the admins' table says.

    An emotion the table has no row for (an admin deleted it, or a test
    database was flushed after the seeding migration) falls back to the
    documented default, when that mood exists.
    """
    rules = {
        rule.emotion: rule.mood for rule in EmotionMoodRule.objects.filter(strategy=strategy).select_related("mood")
    }
    defaults = DEFAULT_RULES.get(strategy, {})
    missing = {emotion: name for emotion, name in defaults.items() if emotion not in rules}
    if missing:
        moods = {mood.name.lower(): mood for mood in Mood.objects.all()}
        for emotion, name in missing.items():
            if name.lower() in moods:
                rules[emotion] = moods[name.lower()]
    return rules


@dataclass(frozen=True)
class MoodMix:
    """The chosen mood and how much each mood counts for one emotion, strategy and face."""

    mood: Mood | None
    weights: dict[int, float]  # mood id -> share of the probability mass


def mood_mix_for(*, emotion: str, strategy: str, probabilities: Mapping[str, float] | None = None) -> MoodMix:
    """Each emotion votes for its rule's mood with its probability; the heaviest mood is chosen.

    A face that reads 40% sad and 35% fear under "match" gets Sad, while one
    that reads 40% sad, 30% fear and 30% angry under "uplift" gets Calm, since
    most of the face says "soothe me"; ties go to the emotion's own mood.
    The vector is only trusted when it agrees with the emotion: after a user
    corrects a detection, or picks an emotion by hand, that emotion alone decides.
    """
    return _mood_mix(emotion=emotion, probabilities=probabilities, rules=mood_rules_for(strategy=strategy))


def _mood_mix(*, emotion: str, probabilities: Mapping[str, float] | None, rules: Mapping[str, Mood]) -> MoodMix:
    own_mood = rules.get(emotion)
    if own_mood is None:
        return MoodMix(mood=None, weights={})
    alone = MoodMix(mood=own_mood, weights={own_mood.pk: 1.0})
    if not probabilities or not isinstance(probabilities, Mapping):
        return alone
    clean = {key: float(value) for key, value in probabilities.items() if key in rules and _is_probability(value)}
    if not clean or sum(clean.values()) <= 0 or max(clean, key=clean.__getitem__) != emotion:
        return alone
    weights: dict[int, float] = {}
    moods: dict[int, Mood] = {}
    for key, probability in clean.items():
        mood = rules[key]
        moods[mood.pk] = mood
        weights[mood.pk] = weights.get(mood.pk, 0.0) + probability
    total = sum(weights.values())
    weights = {mood_id: weight / total for mood_id, weight in weights.items() if weight > 0}
    best = max(weights.values())
    chosen = own_mood if weights.get(own_mood.pk, 0.0) >= best else moods[max(weights, key=weights.__getitem__)]
    return MoodMix(mood=chosen, weights=weights)


def mood_for(*, emotion: str, strategy: str, probabilities: Mapping[str, float] | None = None) -> Mood | None:
    """The mood a strategy picks for an emotion (see `mood_mix_for`); None when no rule covers it."""
    return mood_mix_for(emotion=emotion, strategy=strategy, probabilities=probabilities).mood


# An emotion with less of the face than this is not named in the one-line
# explanation of a mixed mood: it barely moved the vote.
MIX_NAMED_SHARE = 0.05


def detection_mood_mix(*, detection: Detection, strategy: str) -> MoodMix:
    """The mood of a finished detection: its emotion (the correction winning) and probabilities under a strategy.

    The result page, the API's `mood`, the history and the song list all
    compute it here, so they never disagree.
    """
    return mood_mix_for(emotion=detection.effective_emotion, strategy=strategy, probabilities=detection.probabilities)


def detection_moods_choose(detections: Sequence[Detection], strategy: str) -> list[MoodChoice]:
    """detection's `MoodChooser`: each detection's mood under one strategy, the rules read once."""
    rules = mood_rules_for(strategy=strategy)
    choices = []
    for detection in detections:
        if detection.status != DetectionStatus.DONE or not detection.effective_emotion:
            choices.append(MoodChoice(mood=None))
            continue
        emotion = detection.effective_emotion
        mix = _mood_mix(emotion=emotion, probabilities=detection.probabilities, rules=rules)
        choices.append(
            MoodChoice(
                mood=mix.mood.name if mix.mood else None,
                because=mood_mix_in_words(emotion=emotion, mix=mix, probabilities=detection.probabilities, rules=rules),
            )
        )
    return choices


def mood_mix_in_words(
    *, emotion: str, mix: MoodMix, probabilities: Mapping[str, float] | None, rules: Mapping[str, Mood]
) -> str:
    """One line when the mood follows from a mix of emotions ("Scared 41% and sad 30% together → Sad songs.").

    "" when one emotion decided it: the mix was not used (a correction), or the
    top emotion holds most of the face and got its own mood.
    """
    if mix.mood is None or len(mix.weights) < 2 or not probabilities:
        return ""
    own = rules.get(emotion)
    if own is not None and own.pk == mix.mood.pk and float(probabilities.get(emotion, 0.0)) >= 0.5:
        return ""
    voters = sorted(
        (
            (float(probabilities[emotion]), emotion)
            for emotion, mood in rules.items()
            if mood.pk == mix.mood.pk
            and _is_probability(probabilities.get(emotion))
            and float(probabilities[emotion]) >= MIX_NAMED_SHARE
        ),
        # The largest share first; equal shares in the API's order of emotions.
        key=lambda voter: (-voter[0], list(EMOTION_WORDS).index(voter[1])),
    )
    if len(voters) < 2:
        return ""
    named = [f"{EMOTION_WORDS[emotion]} {round(share * 100)}%" for share, emotion in voters]
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    return f"{listed[0].upper()}{listed[1:]} together → {mix.mood.name} songs."


def _is_probability(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= float(value) <= 1.0


def ratings_for(*, user) -> QuerySet[Rating]:
    """The user's ratings, newest first."""
    return (
        Rating.objects.filter(user=user).select_related("song", "song__mood", "detection").order_by("-created", "-id")
    )


def rating_for_user(*, user, rating_id: int) -> Rating:
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


def recommendations_for(
    *,
    user,
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
    rules = mood_rules_for(strategy=strategy)
    mix = _mood_mix(emotion=emotion, probabilities=probabilities, rules=rules)
    catalog = current_catalog()
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
        mood_reason=mood_mix_in_words(emotion=emotion, mix=mix, probabilities=probabilities, rules=rules),
    )


def ratings_export_for(*, user) -> dict[str, list[dict[str, Any]]]:
    """The user's ratings, for the export of their data (accounts.selectors)."""
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
