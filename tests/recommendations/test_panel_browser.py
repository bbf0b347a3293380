"""The recommendations panel in a real browser: the list loads, stars save and refresh it, play loads the player."""

import re

import pytest

from recommendations.models import Rating
from tests.factories import UserFactory
from tests.journeys.conftest import HAVE_CHROMIUM, browser_factory, log_in, page, playwright_instance  # noqa: F401
from tests.recommendations.conftest import load_seed_songs

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not HAVE_CHROMIUM, reason="chromium not found (apt-get install chromium)"),
]


def test_pick_a_mood_rate_a_song_and_press_play(page, live_server):  # noqa: F811
    load_seed_songs()
    user = UserFactory()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    log_in(page, user)
    page.goto("/mood/")
    page.get_by_role("button", name="Sad").click()

    items = page.locator(".rec-item")
    items.first.wait_for()
    assert items.count() == 10
    assert "Sad · Match my mood → Sad songs" in page.locator("[data-rec-summary]").inner_text()
    assert not [url for url in requests if "spotify.com" in url]

    first = items.first
    first.get_by_role("button", name="Why this?").click()
    assert first.locator(".rec-reasons").is_visible()
    assert first.locator(".rec-reasons li").count() >= 1

    song_id = int(first.get_attribute("data-song"))
    first.locator("label[title='1 star']").click()
    page.locator("[data-rec-status]").filter(has_text="Saved 1 star").wait_for()
    assert page.locator(f'.rec-item[data-song="{song_id}"]').count() == 0
    assert items.count() == 9  # only that row goes; the others stay where they were
    rating = Rating.objects.get(user=user)
    assert (rating.song_id, rating.score, rating.emotion, rating.detection) == (song_id, 1, "sad", None)

    second = items.nth(1)
    spotify_id = second.locator("a", has_text="Open in Spotify").get_attribute("href").rsplit("/", 1)[1]
    second.get_by_role("button", name=re.compile("^Play")).click()
    frame = page.locator("[data-mini-player] iframe")  # the mini-player at the bottom of the page
    frame.wait_for(state="attached")
    assert frame.get_attribute("src") == f"https://open.spotify.com/embed/track/{spotify_id}"

    page.get_by_label("Strategy").select_option("uplift")
    page.locator("[data-rec-summary]").filter(has_text="Lift my mood → Happy songs").wait_for()


def test_the_detection_result_page_lists_songs_for_its_emotion(page, live_server):  # noqa: F811
    from tests.factories import DetectionFactory, probabilities

    load_seed_songs()
    user = UserFactory(strategy="uplift")
    detection = DetectionFactory(finished=True, user=user, shares=probabilities(sad=0.9, fear=0.1))

    log_in(page, user)
    page.goto(f"/detections/{detection.pk}/")

    page.locator(".rec-item").first.wait_for()
    assert page.locator(".rec-item").count() == 10
    assert "Lift my mood → Happy songs" in page.locator("[data-rec-summary]").inner_text()
    page.locator(".rec-item").first.locator("label[title='5 stars']").click()
    page.locator("[data-rec-status]").filter(has_text="Saved 5 stars").wait_for()
    assert Rating.objects.get(user=user).detection == detection
