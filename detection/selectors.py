"""Reads for detections, always scoped to the user who asks."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from detection.models import Detection


def detections_for(*, user) -> QuerySet[Detection]:
    """The user's detections, newest first."""
    return Detection.objects.filter(user=user).select_related("user").order_by("-created", "-id")


def detection_get_for(*, user, detection_id: int) -> Detection:
    """The user's own detection, or 404: another user's id is not found, never forbidden."""
    return get_object_or_404(detections_for(user=user), pk=detection_id)


# --- The mood a detection's songs are in ------------------------------------
# Detection knows nothing of songs or moods: the mood follows from the emotion,
# the correction and the user's current strategy by the recommendations app's
# rules, which register themselves here when that app is ready.


@dataclass(frozen=True)
class MoodChoice:
    """The mood a strategy picks for a detection, in words for its pages."""

    mood: str | None  # the catalog's mood name; None when no rule covers the emotion
    because: str = ""  # one plain line when a mix of emotions decided it, else ""


MoodChooser = Callable[[Sequence[Detection], str], list[MoodChoice]]
_mood_chooser: MoodChooser | None = None


def mood_chooser_register(chooser: MoodChooser | None) -> None:
    """Called once by the app that owns the emotion -> mood rules (recommendations)."""
    global _mood_chooser
    _mood_chooser = chooser


def detection_moods_for(*, detections: Sequence[Detection], strategy: str) -> list[MoodChoice]:
    """The mood of each finished detection under a strategy (None for the others)."""
    if _mood_chooser is None:
        return [MoodChoice(mood=None) for _ in detections]
    return _mood_chooser(detections, strategy)


def detection_mood_for(*, detection: Detection, strategy: str | None = None) -> MoodChoice:
    """The detection's mood under a strategy, by default its owner's current one."""
    return detection_moods_for(detections=[detection], strategy=strategy or detection.user.strategy)[0]
