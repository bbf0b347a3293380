import pytest
from django.urls import reverse

from detection.models import DetectionStatus
from recommendations.models import Rating
from tests.factories import DetectionFactory, RatingFactory, SongFactory, probabilities

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
    assert reverse("detection_detail", args=[hidden.pk]) not in body
    assert "Not Yours" not in body
    assert body.index("Second Song") < body.index("First Song")
    assert "Neutral" in body and "(corrected; the model read happy)" in body


def test_empty_history_says_so(client, user):
    client.force_login(user)

    response = client.get(reverse("history"))

    assert response.status_code == 200
    assert "No selfies yet" in response.content.decode()
    assert "No ratings yet" in response.content.decode()


def test_pick_mood_needs_login(client):
    response = client.get(reverse("pick_mood"))

    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_pick_mood_offers_the_seven_emotions(client, user):
    client.force_login(user)

    response = client.get(reverse("pick_mood"))

    assert response.status_code == 200
    body = response.content.decode()
    for emotion in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"):
        assert f'value="{emotion}"' in body
    assert "data-recommendations" not in body


def test_pick_mood_with_an_emotion_shows_the_panel(client, user):
    user.strategy = "uplift"
    user.save()
    client.force_login(user)

    response = client.get(reverse("pick_mood"), {"emotion": "sad"})

    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-emotion="sad"' in body
    assert reverse("api_recommendations") in body
    assert reverse("api_ratings") in body
    assert '<option value="uplift" selected>' in body
    assert "js/recommend.js" in body
    # No request to Spotify before the user presses play: no embed in the page itself.
    assert "open.spotify.com/embed" not in body
    assert "<iframe" not in body


def test_pick_mood_strategy_switch_keeps_the_profile(client, user):
    client.force_login(user)

    response = client.get(reverse("pick_mood"), {"emotion": "angry", "strategy": "calm"})

    assert response.status_code == 200
    assert '<option value="calm" selected>' in response.content.decode()
    user.refresh_from_db()
    assert user.strategy == "match"


def test_pick_mood_with_an_unknown_emotion_says_so(client, user):
    client.force_login(user)

    response = client.get(reverse("pick_mood"), {"emotion": "bored"})

    assert response.status_code == 400
    assert "Pick one of the seven emotions" in response.content.decode()
    assert "data-recommendations" not in response.content.decode()


def test_the_detection_result_page_has_the_panel(client, user):
    detection = DetectionFactory(finished=True, user=user, shares=probabilities(sad=1.0))
    client.force_login(user)

    response = client.get(reverse("detection_detail", args=[detection.pk]))

    assert response.status_code == 200
    body = response.content.decode()
    assert f'data-detection="{detection.pk}"' in body
    assert "js/recommend.js" in body
    assert "<iframe" not in body


def test_another_users_detection_page_is_404(client, user, other_user):
    detection = DetectionFactory(user=other_user, status=DetectionStatus.DONE, emotion="sad")
    client.force_login(user)

    assert client.get(reverse("detection_detail", args=[detection.pk])).status_code == 404


def test_delete_a_rating_from_the_history(client, user):
    rating = RatingFactory(user=user, score=1, song=SongFactory(name="Never Again"))
    client.force_login(user)

    page = client.get(reverse("history"))
    response = client.post(reverse("rating_delete", args=[rating.pk]), follow=True)

    assert reverse("rating_delete", args=[rating.pk]) in page.content.decode()
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("history")
    assert "Your rating of “Never Again” is deleted." in response.content.decode()
    assert "Undo" in response.content.decode()
    assert not Rating.objects.filter(pk=rating.pk).exists()


def test_deleting_another_users_rating_from_the_history_is_404(client, user, other_user):
    rating = RatingFactory(user=other_user)
    client.force_login(user)

    response = client.post(reverse("rating_delete", args=[rating.pk]))

    assert response.status_code == 404
    assert Rating.objects.filter(pk=rating.pk).exists()


def test_deleting_a_rating_needs_login_and_post(client, user):
    rating = RatingFactory(user=user)

    anonymous = client.post(reverse("rating_delete", args=[rating.pk]))
    client.force_login(user)
    by_get = client.get(reverse("rating_delete", args=[rating.pk]))

    assert anonymous.status_code == 302
    assert reverse("login") in anonymous["Location"]
    assert by_get.status_code == 405
    assert Rating.objects.filter(pk=rating.pk).exists()


def test_history_undo_puts_a_deleted_rating_back(client, user):
    detection = DetectionFactory(finished=True, user=user, shares=probabilities(sad=1.0))
    rating = RatingFactory(user=user, score=4, song=SongFactory(name="Keep Me"), detection=detection, emotion="sad")
    client.force_login(user)
    client.post(reverse("rating_delete", args=[rating.pk]))

    page = client.get(reverse("history")).content.decode()
    assert "Your rating of “Keep Me” is deleted." in page and reverse("rating_undo") in page
    response = client.post(reverse("rating_undo"), follow=True)

    assert response.status_code == 200 and response.redirect_chain[-1][0] == reverse("history")
    assert "Your rating of “Keep Me” is back." in response.content.decode()
    restored = Rating.objects.get(user=user)
    assert (restored.song.name, restored.score, restored.detection, restored.emotion) == (
        "Keep Me",
        4,
        detection,
        "sad",
    )
    # Undo works once: a second one has nothing to put back.
    again = client.post(reverse("rating_undo"), follow=True)
    assert "There is no deleted rating to put back." in again.content.decode()
    assert Rating.objects.filter(user=user).count() == 1


def test_history_undo_needs_login_and_post(client, user):
    assert client.post(reverse("rating_undo")).status_code == 302
    client.force_login(user)
    assert client.get(reverse("rating_undo")).status_code == 405


def test_history_moods_follow_the_current_strategy(client, user, seed_songs):
    DetectionFactory(finished=True, user=user, shares=probabilities(fear=1.0))
    client.force_login(user)
    # Fear sits high on energy: its region under "match" is Energetic; lifting it lands in Happy.
    assert "<dd>Energetic<span" in client.get(reverse("history")).content.decode()
    assert "Scared" in client.get(reverse("history")).content.decode()
    user.strategy = "uplift"
    user.save()
    assert "<dd>Happy<span" in client.get(reverse("history")).content.decode()


def test_deleting_a_detection_keeps_its_ratings_unlinked(client, user):
    detection = DetectionFactory(finished=True, user=user, shares=probabilities(sad=1.0))
    kept = RatingFactory(user=user, score=5, song=SongFactory(name="Loved"), detection=detection, emotion="sad")
    song = SongFactory(name="Rated twice")
    older = RatingFactory(user=user, score=2, song=song, emotion="")  # without a detection, rated first
    newer = RatingFactory(user=user, score=4, song=song, detection=detection, emotion="sad")
    client.force_login(user)

    response = client.post(reverse("detection_delete", args=[detection.pk]))

    assert response.status_code == 302
    ratings = {rating.pk: rating for rating in Rating.objects.filter(user=user)}
    assert set(ratings) == {kept.pk, newer.pk}  # the more recent of the two "Rated twice" ratings wins
    assert ratings[kept.pk].detection is None and (ratings[kept.pk].score, ratings[kept.pk].emotion) == (5, "sad")
    assert ratings[newer.pk].detection is None and ratings[newer.pk].score == 4
    assert not Rating.objects.filter(pk=older.pk).exists()
