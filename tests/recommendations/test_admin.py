import pytest
from django.urls import reverse

from recommendations.models import EmotionPlace, StrategyMove
from tests.factories import RatingFactory

pytestmark = pytest.mark.django_db


def _changelist_data(rows, fields, changed: dict[int, dict]) -> dict:
    data = {"form-TOTAL_FORMS": str(len(rows)), "form-INITIAL_FORMS": str(len(rows)), "_save": "Save"}
    for index, row in enumerate(rows):
        data[f"form-{index}-id"] = str(row.pk)
        for name in fields:
            data[f"form-{index}-{name}"] = str(changed.get(row.pk, {}).get(name, getattr(row, name)))
    return data


def test_staff_move_an_emotion_on_the_map_from_the_list(client, staff_user):
    client.force_login(staff_user)
    places = list(EmotionPlace.objects.order_by("emotion"))
    sad = EmotionPlace.objects.get(emotion="sad")
    url = reverse("admin:recommendations_emotionplace_changelist")

    listing = client.get(url)
    response = client.post(url, _changelist_data(places, ("valence", "energy"), {sad.pk: {"valence": 0.1}}))

    assert listing.status_code == 200
    assert "Russell (1980)" in listing.content.decode()
    assert response.status_code == 302
    assert EmotionPlace.objects.get(emotion="sad").valence == 0.1
    assert EmotionPlace.objects.get(emotion="happy").valence == pytest.approx(0.847)


def test_a_place_off_the_map_is_refused_and_nothing_is_saved(client, staff_user):
    client.force_login(staff_user)
    places = list(EmotionPlace.objects.order_by("emotion"))
    sad, happy = EmotionPlace.objects.get(emotion="sad"), EmotionPlace.objects.get(emotion="happy")
    url = reverse("admin:recommendations_emotionplace_changelist")

    response = client.post(
        url, _changelist_data(places, ("valence", "energy"), {sad.pk: {"valence": 1.4}, happy.pk: {"energy": 0.9}})
    )

    assert response.status_code == 200
    assert "Points on the mood map run from 0 to 1." in response.content.decode()
    assert EmotionPlace.objects.get(emotion="sad").valence == pytest.approx(0.19)
    assert EmotionPlace.objects.get(emotion="happy").energy == pytest.approx(0.548)


def test_staff_set_how_far_a_strategy_moves(client, staff_user):
    client.force_login(staff_user)
    moves = list(StrategyMove.objects.order_by("strategy"))
    uplift = StrategyMove.objects.get(strategy="uplift")
    match = StrategyMove.objects.get(strategy="match")
    url = reverse("admin:recommendations_strategymove_changelist")

    saved = client.post(url, _changelist_data(moves, ("amount",), {uplift.pk: {"amount": 0.3}}))
    refused = client.post(url, _changelist_data(moves, ("amount",), {match.pk: {"amount": 0.2}}))

    assert saved.status_code == 302
    assert refused.status_code == 200
    assert "Match my mood keeps the reading where it is" in refused.content.decode()
    assert StrategyMove.objects.get(strategy="uplift").amount == 0.3
    assert StrategyMove.objects.get(strategy="match").amount == 0.0


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


def test_non_staff_cannot_reach_the_map(client, user):
    client.force_login(user)

    places = client.get(reverse("admin:recommendations_emotionplace_changelist"))
    moves = client.get(reverse("admin:recommendations_strategymove_changelist"))

    assert places.status_code == moves.status_code == 302
    assert EmotionPlace.objects.count() == 7
    assert StrategyMove.objects.count() == 3
