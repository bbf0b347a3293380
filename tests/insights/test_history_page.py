"""The history page's timeline, distribution, loved songs and outcomes (insights.views.history)."""

import pytest
from django.urls import reverse
from django.utils import timezone

from detection.models import DetectionStatus
from tests.factories import DetectionFactory, MoodFactory, OutcomeFactory, RatingFactory, SongFactory

pytestmark = pytest.mark.django_db


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(reverse("history") + "?timeline=week")
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_page_shows_only_the_users_own_moods_songs_and_outcomes(client, user, other_user):
    mine = DetectionFactory(user=user, status=DetectionStatus.DONE, emotion="neutral", corrected_emotion="sad")
    DetectionFactory(user=user, status=DetectionStatus.DONE, emotion="happy")
    theirs = DetectionFactory(user=other_user, status=DetectionStatus.DONE, emotion="angry")
    OutcomeFactory(detection=mine, strategy="uplift", mood_before=2, mood_after=4)
    OutcomeFactory(detection=theirs, strategy="match", mood_before=5, mood_after=1)
    RatingFactory(user=user, song=SongFactory(name="Loved Tune", mood=MoodFactory(name="Calm")), score=5)
    RatingFactory(user=other_user, song=SongFactory(name="Their Tune"), score=5)
    client.force_login(user)

    response = client.get(reverse("history"))

    assert response.status_code == 200
    context = response.context
    assert context["period"] == "day" and len(context["timeline"]) == 30
    today = context["timeline"][-1]
    assert today.start == timezone.localdate() and today.counts["sad"] == 1 and today.counts["happy"] == 1
    assert today.counts["angry"] == 0
    assert context["outcomes"].count == 1 and context["outcomes"].mean_change == 2.0
    body = response.content.decode()
    assert '<svg class="chart"' in body and "Your emotions per day, last 30 days" in body
    assert "the model read neutral" in body  # the correction beside the model's guess
    assert "Loved Tune" in body and "Their Tune" not in body
    assert "+2.0" in body
    assert 'src="http' not in body


def test_the_weekly_timeline(client, user):
    DetectionFactory(user=user, status=DetectionStatus.DONE, emotion="happy")
    client.force_login(user)

    response = client.get(reverse("history") + "?timeline=week")

    assert response.status_code == 200
    assert response.context["period"] == "week" and len(response.context["timeline"]) == 12
    assert response.context["timeline"][-1].counts["happy"] == 1
    assert "Your emotions per week, last 12 weeks" in response.content.decode()


def test_a_mangled_period_shows_the_daily_timeline(client, user):
    client.force_login(user)
    response = client.get(reverse("history") + "?timeline=%00year")
    assert response.status_code == 200 and response.context["period"] == "day"


def test_an_empty_history_explains_each_part(client, user):
    client.force_login(user)
    body = client.get(reverse("history")).content.decode()
    assert "No finished selfies in this period yet." in body
    assert "Songs you rate 4 or 5 stars gather here" in body
    assert "tell us on its page how you felt before and after" in body
