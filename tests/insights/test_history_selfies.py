"""History's selfies: cards in pages of ten, filtered by emotion and dates (insights.views.history)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from detection.models import Detection, DetectionStatus
from tests.factories import DetectionFactory

pytestmark = pytest.mark.django_db


def selfie(user, emotion: str, *, days_ago: int = 0, **fields) -> Detection:
    detection = DetectionFactory(user=user, status=DetectionStatus.DONE, emotion=emotion, **fields)
    Detection.objects.filter(pk=detection.pk).update(created=timezone.now() - timedelta(days=days_ago))
    return detection


def card_ids(response) -> list[int]:
    return [row["detection"].pk for row in response.context["detection_rows"]]


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(reverse("history") + "?emotion=happy")

    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_selfies_are_cards_in_pages_of_ten(logged_in, user, other_user):
    mine = [selfie(user, "happy", days_ago=days) for days in range(12)]
    selfie(other_user, "happy")

    first = logged_in.get(reverse("history"))
    second = logged_in.get(reverse("history") + "?detections_page=2")

    assert first.status_code == second.status_code == 200
    assert card_ids(first) == [detection.pk for detection in mine[:10]]
    assert card_ids(second) == [detection.pk for detection in mine[10:]]
    page = first.content.decode()
    assert page.count('class="selfie-card"') == 10
    assert "Page 1 of 2" in page and 'href="?detections_page=2"' in page
    assert '<table class="table-stack">' not in page


def test_the_emotion_filter_counts_the_users_correction(logged_in, user, other_user):
    happy = selfie(user, "happy")
    corrected = selfie(user, "neutral", corrected_emotion="happy")
    selfie(user, "happy", corrected_emotion="sad")
    selfie(user, "sad")
    selfie(other_user, "happy")

    response = logged_in.get(reverse("history"), {"emotion": "happy"})

    assert response.status_code == 200
    assert set(card_ids(response)) == {happy.pk, corrected.pk}
    assert '<option value="happy" selected>' in response.content.decode()


def test_the_date_filter_keeps_both_ends_and_the_pager_keeps_the_filter(logged_in, user):
    today = timezone.now().date()
    kept = [selfie(user, "sad", days_ago=days) for days in range(2, 15)]
    selfie(user, "sad", days_ago=0)
    selfie(user, "sad", days_ago=20)
    since, until = today - timedelta(days=14), today - timedelta(days=2)

    response = logged_in.get(reverse("history"), {"since": since.isoformat(), "until": until.isoformat()})

    assert response.status_code == 200
    assert response.context["detections_page"].paginator.count == len(kept)
    assert f'href="?since={since.isoformat()}&amp;until={until.isoformat()}&amp;detections_page=2"' in (
        response.content.decode()
    )


@pytest.mark.parametrize(
    "query, message",
    [
        ({"emotion": "joyful"}, "not one we read"),
        ({"since": "31/01/2026"}, "“From” needs a date"),
        ({"until": "2026-02-30"}, "“To” needs a date"),
        ({"since": "2026-03-01", "until": "2026-02-01"}, "“From” is after “To”"),
    ],
)
def test_a_value_that_makes_no_sense_is_left_out_with_a_message(logged_in, user, query, message):
    detection = selfie(user, "happy")

    response = logged_in.get(reverse("history"), query)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert card_ids(response) == [detection.pk]


def test_a_filter_with_no_match_says_so(logged_in, user):
    selfie(user, "happy")

    response = logged_in.get(reverse("history"), {"emotion": "angry"})

    assert response.status_code == 200
    assert "No selfies match this filter." in response.content.decode()
    assert card_ids(response) == []
