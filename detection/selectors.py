"""Reads for detections, always scoped to the user who asks."""

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User
from detection.models import Detection, Outcome


def detections_for(*, user: User) -> QuerySet[Detection]:
    """The user's detections, newest first."""
    return Detection.objects.filter(user=user).select_related("user").order_by("-created", "-id")


def detection_get_for(*, user: User, detection_id: int) -> Detection:
    """The user's own detection, or 404: another user's id is not found, never forbidden."""
    return get_object_or_404(detections_for(user=user), pk=detection_id)


def detections_export(*, detections: Sequence[Detection]) -> dict[str, list[dict[str, Any]]]:
    """The data export's detections and corrections sections for these detections (the user's own).

    The mood each detection's songs are in is not detection's to know: the export adds it.
    """
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
                "corrected_emotion": detection.corrected_emotion or None,
                "error": detection.error,
                "model_version": detection.model_version or None,
                "attempts": detection.attempts,
                "image_width": detection.image_width,
                "image_height": detection.image_height,
                "photo_stored": bool(detection.image),
                "photo_deleted": detection.photo_deleted,
            }
            for detection in detections
        ],
        "corrections": [
            {"id": detection.pk, "emotion": detection.emotion or None, "corrected_emotion": detection.corrected_emotion}
            for detection in detections
            if detection.corrected_emotion
        ],
    }


def outcomes_export_for(*, user: User) -> dict[str, list[dict[str, Any]]]:
    """The data export's outcomes section: the user's "did the music help?" answers, newest first."""
    outcomes = Outcome.objects.filter(detection__user=user).order_by("-created", "-id")
    return {
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
