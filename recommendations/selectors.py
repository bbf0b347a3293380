"""Reads for recommendations: rules, ratings and history, always scoped to the user who asks."""

from collections.abc import Mapping

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from catalog.models import Mood
from detection.models import Detection
from recommendations.models import EmotionMoodRule, Rating


def mood_rules_for(*, strategy: str) -> dict[str, Mood]:
    """emotion -> mood for one strategy, as the admins' table says."""
    rules = EmotionMoodRule.objects.filter(strategy=strategy).select_related("mood")
    return {rule.emotion: rule.mood for rule in rules}


def mood_for(*, emotion: str, strategy: str, probabilities: Mapping[str, float] | None = None) -> Mood | None:
    """The mood a strategy picks for an emotion; None when no rule covers it.

    With the detection's full probability vector, each emotion votes for its
    rule's mood with its probability and the heaviest mood wins (ties go to
    the emotion's own mood): a face that reads 40% sad and 35% fear under
    "match" still gets Sad, but one that reads 40% sad, 30% fear, 30% angry
    under "uplift" gets Calm, since most of the face says "soothe me".
    The vector is only trusted when it agrees with the emotion: after a user
    corrects the detection, the correction alone decides.
    """
    rules = mood_rules_for(strategy=strategy)
    own_mood = rules.get(emotion)
    if own_mood is None or not probabilities:
        return own_mood
    clean = {key: float(value) for key, value in probabilities.items() if key in rules and _is_probability(value)}
    if not clean or max(clean, key=clean.__getitem__) != emotion:
        return own_mood
    weights: dict[int, float] = {}
    moods: dict[int, Mood] = {}
    for key, probability in clean.items():
        mood = rules[key]
        moods[mood.pk] = mood
        weights[mood.pk] = weights.get(mood.pk, 0.0) + probability
    best = max(weights.values())
    if weights.get(own_mood.pk, 0.0) >= best:
        return own_mood
    return moods[max(weights, key=weights.__getitem__)]


def _is_probability(value: object) -> bool:
    return isinstance(value, int | float) and 0.0 <= float(value) <= 1.0


def detection_for_user(*, user, detection_id: int) -> Detection:
    """The user's own detection, or 404 (another user's id is not found, never forbidden)."""
    return get_object_or_404(Detection, pk=detection_id, user=user)


def ratings_for(*, user) -> QuerySet[Rating]:
    """The user's ratings, newest first."""
    return (
        Rating.objects.filter(user=user).select_related("song", "song__mood", "detection").order_by("-created", "-id")
    )


def rating_for_user(*, user, rating_id: int) -> Rating:
    """The user's own rating, or 404."""
    return get_object_or_404(Rating, pk=rating_id, user=user)


def detections_for(*, user) -> QuerySet[Detection]:
    """The user's detections, newest first, with their chosen mood."""
    return Detection.objects.filter(user=user).select_related("mood").order_by("-created", "-id")
