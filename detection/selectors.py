"""Reads for detections, always scoped to the user who asks."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from detection.models import Detection, Outcome


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


def detections_export_for(*, user) -> dict[str, list[dict[str, Any]]]:
    """The user's detections, corrections and outcomes, for the export of their data (accounts.selectors)."""
    detections = list(Detection.objects.filter(user=user).order_by("-created", "-id"))
    # Not stored: the mood each detection gets under the user's current strategy, as the pages show it.
    moods = detection_moods_for(detections=detections, strategy=user.strategy)
    outcomes = Outcome.objects.filter(detection__user=user).order_by("-created", "-id")
    return {
        "detections": [
            {
                "id": detection.pk,
                "status": detection.status,
                "created": detection.created,
                "started": detection.started,
                "finished": detection.finished,
                "emotion": detection.emotion or None,
                "confidence": detection.confidence,
                "probabilities": detection.probabilities,
                "faces": detection.faces,
                "mood": mood.mood,
                "corrected_emotion": detection.corrected_emotion or None,
                "error": detection.error,
                "model_version": detection.model_version or None,
                "attempts": detection.attempts,
                "image_width": detection.image_width,
                "image_height": detection.image_height,
                "photo_stored": bool(detection.image),
                "photo_deleted": detection.photo_deleted,
            }
            for detection, mood in zip(detections, moods, strict=True)
        ],
        "corrections": [
            {"id": detection.pk, "emotion": detection.emotion or None, "corrected_emotion": detection.corrected_emotion}
            for detection in detections
            if detection.corrected_emotion
        ],
        "outcomes": [
            {
                "detection": outcome.detection_id,
                "strategy": outcome.strategy,
                "mood_before": outcome.mood_before,
                "mood_after": outcome.mood_after,
                "created": outcome.created,
                "updated": outcome.updated,
            }
            for outcome in outcomes
        ],
    }
