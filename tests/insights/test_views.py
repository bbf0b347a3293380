"""The admin's insights dashboard: staff only, and every part of it on the page."""

import pytest
from django.urls import reverse

from detection.models import DetectionStatus
from tests.factories import DetectionFactory, MoodFactory, OutcomeFactory, RatingFactory, SongFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/admin/insights/"


def test_the_url_name_resolves_under_admin():
    assert reverse("insights_dashboard") == URL


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_non_staff_user_is_sent_to_log_in_as_staff(client, user):
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_staff_sees_an_empty_dashboard(client, staff_user):
    client.force_login(staff_user)
    response = client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "No finished detections yet." in body
    assert "No song has 2 ratings yet." in body


def test_staff_sees_every_part(client, staff_user, user, other_user):
    DetectionFactory(user=user, status=DetectionStatus.DONE, emotion="neutral", corrected_emotion="sad", confidence=0.4)
    DetectionFactory(user=other_user, status=DetectionStatus.DONE, emotion="happy", confidence=0.9)
    detection = DetectionFactory(user=user, status=DetectionStatus.DONE, emotion="sad", confidence=0.7)
    OutcomeFactory(detection=detection, strategy="uplift", mood_before=2, mood_after=4)
    song = SongFactory(name="Crowd Pleaser", mood=MoodFactory(name="Lonely Mood"))
    RatingFactory(song=song, score=5, user=UserFactory())
    RatingFactory(song=song, score=4, user=UserFactory())
    client.force_login(staff_user)

    response = client.get(URL)

    assert response.status_code == 200
    context = response.context
    assert context["per_day_total"] == 3
    assert context["confusion"].total == 3 and context["confusion"].agreed == 2
    uplift = next(stats for stats in context["outcome_stats"] if stats.strategy == "uplift")
    assert uplift.count == 1 and uplift.mean_change == 2.0
    body = response.content.decode()
    for heading in (
        "Detections per day",
        "Emotion distribution",
        "The model's confidence",
        "Corrections per emotion",
        "Accuracy in the wild",
        "Outcomes per strategy",
        "Top-rated songs",
        "Moods with too few songs",
    ):
        assert heading in body, heading
    assert "<svg" in body and '<title id="per-day-title">' in body
    assert "Crowd Pleaser" in body and "Lonely Mood: 1 song" in body
    assert "+2.00" in body  # the uplift row's mean change
    assert 'src="http' not in body and 'href="http' not in body  # every asset is local


def test_the_admin_index_links_to_the_dashboard(client, staff_user):
    client.force_login(staff_user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert URL in response.content.decode()
