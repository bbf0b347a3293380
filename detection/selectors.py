"""Reads for detections, always scoped to the user who asks."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from detection.models import Detection


def detections_for(*, user) -> QuerySet[Detection]:
    """The user's detections, newest first."""
    return Detection.objects.filter(user=user).select_related("mood").order_by("-created", "-id")


def detection_get_for(*, user, detection_id: int) -> Detection:
    """The user's own detection, or 404: another user's id is not found, never forbidden."""
    return get_object_or_404(detections_for(user=user), pk=detection_id)
