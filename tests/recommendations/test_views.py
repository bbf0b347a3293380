import pytest
from django.urls import reverse

from detection.models import DetectionStatus
from tests.factories import DetectionFactory, RatingFactory, SongFactory

pytestmark = pytest.mark.django_db


def test_history_needs_login(client):
    response = client.get(reverse("history"))

    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_history_lists_own_detections_and_ratings_newest_first(client, user, other_user):
    older = DetectionFactory(user=user, status=DetectionStatus.DONE, emotion="sad")
    newer = DetectionFactory(user=user, status=DetectionStatus.DONE, emotion="happy", corrected_emotion="neutral")
    hidden = DetectionFactory(user=other_user, status=DetectionStatus.DONE, emotion="fear")
    first = RatingFactory(user=user, song=SongFactory(name="First Song"), score=2)
    second = RatingFactory(user=user, song=SongFactory(name="Second Song"), score=5, detection=newer)
    RatingFactory(user=other_user, song=SongFactory(name="Not Yours"), score=1)
    client.force_login(user)

    response = client.get(reverse("history"))

    assert response.status_code == 200
    assert list(response.context["detections_page"]) == [newer, older]
    assert list(response.context["ratings_page"]) == [second, first]
    body = response.content.decode()
    assert f"/detections/{hidden.pk}/" not in body
    assert "Not Yours" not in body
    assert body.index("Second Song") < body.index("First Song")
    assert "Neutral" in body and "(corrected)" in body


def test_empty_history_says_so(client, user):
    client.force_login(user)

    response = client.get(reverse("history"))

    assert response.status_code == 200
    assert "No selfies yet" in response.content.decode()
    assert "No ratings yet" in response.content.decode()
