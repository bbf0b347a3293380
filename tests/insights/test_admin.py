"""The Detection and Outcome admins (detection/admin.py): read-only, and the per-strategy summary."""

import pytest
from django.urls import reverse

from detection.models import Detection, DetectionStatus
from tests.factories import DetectionFactory, OutcomeFactory

pytestmark = pytest.mark.django_db


def done(user, emotion="sad"):
    return DetectionFactory(user=user, status=DetectionStatus.DONE, emotion=emotion)


def test_outcome_list_shows_the_mean_change_per_strategy(client, staff_user, user, other_user):
    OutcomeFactory(detection=done(user), strategy="uplift", mood_before=1, mood_after=4)
    OutcomeFactory(detection=done(other_user), strategy="uplift", mood_before=3, mood_after=4)
    OutcomeFactory(detection=done(other_user), strategy="match", mood_before=4, mood_after=2)
    client.force_login(staff_user)

    response = client.get(reverse("admin:detection_outcome_changelist"))

    assert response.status_code == 200
    stats = {row.strategy: row for row in response.context["strategy_stats"]}
    assert stats["uplift"].count == 2 and stats["uplift"].mean_change == pytest.approx(2.0)
    assert stats["match"].count == 1 and stats["match"].mean_change == pytest.approx(-2.0)
    assert stats["calm"].count == 0
    assert "+2.00" in response.content.decode() and "-2.00" in response.content.decode()


def test_the_summary_follows_the_filter(client, staff_user, user):
    OutcomeFactory(detection=done(user), strategy="uplift", mood_before=1, mood_after=4)
    OutcomeFactory(detection=done(user), strategy="match", mood_before=4, mood_after=2)
    client.force_login(staff_user)

    response = client.get(reverse("admin:detection_outcome_changelist"), {"strategy": "match"})

    stats = {row.strategy: row for row in response.context["strategy_stats"]}
    assert stats["uplift"].count == 0 and stats["match"].count == 1


def test_detections_are_read_only_and_deleting_removes_the_row(client, staff_user, user):
    detection = done(user)
    client.force_login(staff_user)

    listing = client.get(reverse("admin:detection_detection_changelist"))
    assert listing.status_code == 200 and user.username in listing.content.decode()
    assert client.get(reverse("admin:detection_detection_add")).status_code == 403
    change = client.post(reverse("admin:detection_detection_change", args=[detection.pk]), {"emotion": "happy"})
    assert change.status_code == 403
    detection.refresh_from_db()
    assert detection.emotion == "sad"

    response = client.post(reverse("admin:detection_detection_delete", args=[detection.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Detection.objects.filter(pk=detection.pk).exists()


def test_a_non_staff_user_cannot_see_outcomes(client, user):
    client.force_login(user)
    response = client.get(reverse("admin:detection_outcome_changelist"))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]
