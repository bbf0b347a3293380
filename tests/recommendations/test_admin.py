import pytest
from django.urls import reverse

from catalog.models import Mood
from recommendations.models import EmotionMoodRule
from tests.factories import RatingFactory

pytestmark = pytest.mark.django_db


def test_staff_edit_a_rule_from_the_list(client, staff_user):
    client.force_login(staff_user)
    rules = list(EmotionMoodRule.objects.order_by("strategy", "emotion"))
    calm = Mood.objects.get(name="Calm")
    data = {
        "form-TOTAL_FORMS": str(len(rules)),
        "form-INITIAL_FORMS": str(len(rules)),
        "_save": "Save",
    }
    for index, rule in enumerate(rules):
        data[f"form-{index}-id"] = str(rule.pk)
        data[f"form-{index}-mood"] = str(calm.pk if (rule.strategy, rule.emotion) == ("match", "sad") else rule.mood_id)

    listing = client.get(reverse("admin:recommendations_emotionmoodrule_changelist"))
    response = client.post(reverse("admin:recommendations_emotionmoodrule_changelist"), data)

    assert listing.status_code == 200
    assert response.status_code == 302
    assert EmotionMoodRule.objects.get(strategy="match", emotion="sad").mood == calm
    assert EmotionMoodRule.objects.get(strategy="match", emotion="happy").mood.name == "Happy"


def test_ratings_are_read_only_in_the_admin(client, staff_user):
    rating = RatingFactory(score=2)
    client.force_login(staff_user)

    listing = client.get(reverse("admin:recommendations_rating_changelist"))
    add = client.get(reverse("admin:recommendations_rating_add"))
    change = client.post(reverse("admin:recommendations_rating_change", args=[rating.pk]), {"score": 5})

    assert listing.status_code == 200
    assert rating.song.name in listing.content.decode()
    assert add.status_code == 403
    assert change.status_code == 403
    rating.refresh_from_db()
    assert rating.score == 2


def test_non_staff_cannot_reach_the_rules(client, user):
    client.force_login(user)

    response = client.get(reverse("admin:recommendations_emotionmoodrule_changelist"))

    assert response.status_code == 302
    assert EmotionMoodRule.objects.count() == 21
