"""The mood map on the result page and on "Pick my mood", and ratings that never move the rows under the pointer,
in a real browser at 1280 and at 390 px."""

import re

import pytest

from recommendations.models import Rating
from tests.factories import DetectionFactory, UserFactory, probabilities
from tests.journeys.conftest import DESKTOP, PHONE, log_in, page_width, serious_violations
from tests.recommendations.conftest import load_seed_songs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])


def open_result(page, size, *, strategy: str = "uplift"):
    load_seed_songs()
    user = UserFactory(strategy=strategy)
    detection = DetectionFactory(finished=True, user=user, shares=probabilities(sad=0.7, neutral=0.3))
    page.set_viewport_size(size)
    log_in(page, user)
    page.goto(f"/detections/{detection.pk}/")
    page.locator(".rec-item").first.wait_for()
    return user


def song_order(page) -> list[str]:
    return page.locator(".rec-item").evaluate_all("(rows) => rows.map((row) => row.dataset.song)")


def map_songs(page) -> list[str]:
    return page.locator("[data-mood-map] [data-map-song]").evaluate_all(
        "(marks) => marks.filter((mark) => mark.getAttribute('display') !== 'none').map((mark) => mark.dataset.mapSong)"
    )


def wait_for_map_of_list(page) -> None:
    """The map redrawn for the list on screen: the same songs highlighted."""
    page.wait_for_function(
        """() => {
          const rows = [...document.querySelectorAll('.rec-item')].map((row) => row.dataset.song).sort();
          const marks = [...document.querySelectorAll('[data-mood-map] [data-map-song]')]
            .filter((mark) => mark.getAttribute('display') !== 'none').map((mark) => mark.dataset.mapSong).sort();
          return rows.length > 0 && rows.join() === marks.join();
        }"""
    )


@SIZES
def test_the_result_page_shows_the_mood_map(page, live_server, size):
    open_result(page, size)
    figure = page.locator("figure.mood-map")

    assert figure.is_visible()
    assert figure.locator("figcaption").inner_text().startswith("Mood map")
    picture = page.get_by_role("img", name="Mood map")
    assert picture.is_visible()
    description = picture.locator("desc").text_content()
    assert "Your reading: low valence" in description and "Lift my mood moves it to Happy" in description
    for name in ("Happy", "Sad", "Calm", "Energetic"):
        assert figure.locator(f'[data-map-region="{name}"]').is_visible()
    wait_for_map_of_list(page)
    assert len(map_songs(page)) == 10
    # The map fits the window: nothing scrolls sideways, and the picture is no wider than its card.
    assert page_width(page) <= size["width"]
    assert picture.bounding_box()["width"] <= size["width"]
    assert serious_violations(page) == []

    # Another strategy redraws the map with the list: its target and its mood follow.
    page.locator("[data-rec-strategy]").select_option("calm")
    page.locator("[data-rec-summary]").filter(has_text="Calm me down").wait_for()
    page.wait_for_function(
        "() => document.querySelector('#mood-map-desc').textContent.includes('Calm me down moves it to Calm')"
    )
    wait_for_map_of_list(page)


@SIZES
def test_tapping_a_point_on_pick_my_mood_lists_that_regions_songs(page, live_server, size):
    load_seed_songs()
    user = UserFactory(strategy="match")
    page.set_viewport_size(size)
    log_in(page, user)
    page.goto("/mood/")
    figure = page.locator("figure.mood-map")
    assert figure.locator("figcaption").inner_text().startswith("Mood map")
    assert page_width(page) <= size["width"]
    assert serious_violations(page) == []

    # A tap in the middle of the region named Calm (its name is drawn there).
    figure.locator('[data-map-region="Calm"]').click()
    page.wait_for_url(re.compile(r"valence=.*energy="))
    page.locator(".rec-item").first.wait_for()

    page.locator("[data-rec-summary]").filter(has_text="→ Calm songs").wait_for()
    assert "keeps it in Calm" in page.locator("#mood-map-desc").text_content()
    assert page.locator("[data-mood-map] [data-map-point]").count() == 1
    assert page_width(page) <= size["width"]
    assert serious_violations(page) == []


def test_keyboard_users_pick_a_point_with_the_sliders(page, live_server):
    load_seed_songs()
    user = UserFactory(strategy="match")
    page.set_viewport_size(PHONE)
    log_in(page, user)
    page.goto("/mood/")

    page.get_by_label("Valence: sad to happy").focus()
    page.keyboard.press("End")  # happy
    page.get_by_label("Energy: calm to energetic").focus()
    page.keyboard.press("End")  # energetic
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Songs for this point"
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"valence=1(\.0+)?&energy=1(\.0+)?&"))
    page.locator(".rec-item").first.wait_for()
    summary = page.locator("[data-rec-summary]").inner_text()
    description = page.locator("#mood-map-desc").text_content()
    named = re.search(r"keeps it in (\w+)\.", description).group(1)
    assert summary.endswith(f"→ {named} songs") and named in ("Happy", "Energetic")


@SIZES
def test_a_4_star_rating_keeps_every_row_in_place(page, live_server, size):
    user = open_result(page, size)
    before = song_order(page)
    third = page.locator(".rec-item").nth(2)

    third.locator("label[title='4 stars']").click()
    page.locator("[data-rec-status]").filter(has_text="Saved 4 stars").wait_for()

    refresh = page.get_by_role("button", name="Refresh with your ratings")
    assert refresh.is_visible()
    assert song_order(page) == before
    assert Rating.objects.filter(user=user, song_id=before[2], score=4).exists()
    assert page_width(page) <= size["width"]
    assert serious_violations(page) == []

    refresh.click()
    page.locator("[data-rec-status]").filter(has_text="Refreshed with your ratings.").wait_for()
    assert refresh.is_hidden()
    assert len(song_order(page)) == 10


@SIZES
def test_a_1_star_rating_removes_only_that_row_and_undo_brings_it_back(page, live_server, size):
    user = open_result(page, size)
    wait_for_map_of_list(page)
    before = song_order(page)
    removed = before[1]

    page.locator(".rec-item").nth(1).locator("label[title='1 star']").click()
    page.locator(f'.rec-item[data-song="{removed}"]').wait_for(state="detached")
    page.locator("[data-rec-undo]").wait_for(state="visible")

    assert song_order(page) == [song for song in before if song != removed]
    assert map_songs(page) == [song for song in before if song != removed]
    assert Rating.objects.filter(user=user, song_id=removed, score=1).exists()
    assert page_width(page) <= size["width"]
    # The row now in second place plays its own song, not the one its old place held.
    second = page.locator(".rec-item").nth(1)
    spotify_id = second.locator("a", has_text="Open in Spotify").get_attribute("href").rsplit("/", 1)[1]
    page.route("https://open.spotify.com/**", lambda route: route.fulfill(body="", content_type="text/html"))
    second.get_by_role("button", name=re.compile("^Play")).click()
    assert page.locator("[data-mini-player] iframe").get_attribute("src").endswith(spotify_id)
    page.get_by_role("button", name="Close the player").click()

    page.locator("[data-rec-undo]").get_by_role("button", name="Undo").click()
    page.locator(f'.rec-item[data-song="{removed}"]').wait_for()
    page.locator("[data-rec-status]").filter(has_text="is back").wait_for()
    assert song_order(page) == before
    assert sorted(map_songs(page)) == sorted(before)
    assert not Rating.objects.filter(user=user).exists()
    assert serious_violations(page) == []
