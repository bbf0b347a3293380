"""The songs as a music app shows them, the site's words, and the front page, at 1280 px and at 390 px.

Covers drawn from each song (tapping one plays it), compact rows, a mini-player that says when Spotify's
embed did not load and still links to the song, one word for each emotion and strategy, and a front page
that shows a visitor what EmoMusic does. No page here scrolls sideways on a phone, and axe-core finds no
serious or critical violation on them.
"""

import re
from urllib.parse import quote

import pytest

from detection.models import Detection
from tests.factories import DetectionFactory, OutcomeFactory, UserFactory, probabilities
from tests.journeys.conftest import DESKTOP, PHONE, log_in, page_width, serious_violations
from tests.recommendations.conftest import load_seed_songs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])

# Spotify's embed, answered by the test: a page that loads, or one that never does.
EMBED = "https://open.spotify.com/embed/**"


def open_songs(page, size, *, user=None) -> Detection:
    """Log in, open a finished result at `size` and wait for its songs."""
    load_seed_songs()
    user = user or UserFactory()
    detection = DetectionFactory(finished=True, user=user, shares=probabilities(happy=0.8, neutral=0.2))
    log_in(page, user)
    page.set_viewport_size(size)
    page.goto(f"/detections/{detection.pk}/")
    page.locator(".rec-item").first.wait_for()
    return detection


def covers(page) -> list[dict]:
    return page.locator(".rec-item").evaluate_all(
        """(items) => items.map((item) => {
             const svg = item.querySelector(".rec-cover svg");
             return {song: item.dataset.song, hue: svg.dataset.hue, stripes: svg.dataset.stripes,
                     stops: [...svg.querySelectorAll("stop")].map((stop) => stop.getAttribute("stop-color"))};
           })"""
    )


# --- 4. Covers -----------------------------------------------------------------------------------------


@SIZES
def test_every_song_has_its_own_cover_and_tapping_it_plays_the_song(page, live_server, size):
    page.route(EMBED, lambda route: route.fulfill(status=200, content_type="text/html", body="<p>player</p>"))
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    open_songs(page, size)

    drawn = covers(page)
    assert len(drawn) == 10 and all(cover["stops"] and cover["stripes"] for cover in drawn)
    assert len({tuple(cover["stops"]) for cover in drawn}) > 1  # drawn from each song, not one picture
    assert not [url for url in requests if not url.startswith(live_server.url)]  # no image from the network
    page.reload()
    page.locator(".rec-item").first.wait_for()
    assert covers(page) == drawn

    second = page.locator(".rec-item").nth(1)
    spotify_url = second.locator("a", has_text="Open in Spotify").get_attribute("href")
    second.locator(".rec-cover").click()
    player = page.locator("[data-mini-player]")
    assert player.is_visible()
    assert player.locator("iframe").get_attribute("src").endswith(spotify_url.rsplit("/", 1)[1])
    assert player.locator("[data-mini-title]").inner_text().startswith("2 of 10: ")

    # The catalog's rows too: the same cover for the same song, and tapping it opens the song on Spotify.
    song_id = second.get_attribute("data-song")
    stops = next(cover["stops"] for cover in drawn if cover["song"] == song_id)
    page.goto("/songs/?search=" + quote(second.locator(".rec-title strong").inner_text()))
    cover = page.locator(f'.catalog-cover[data-song="{song_id}"]')
    assert cover.get_attribute("href") == spotify_url
    assert cover.locator("stop").evaluate_all("(stops) => stops.map((s) => s.getAttribute('stop-color'))") == stops
    assert page.locator(".catalog-cover").count() == page.locator(".catalog-cover svg").count() >= 1
    assert page_width(page) <= size["width"]


# --- 5. Compact rows ------------------------------------------------------------------------------------


@SIZES
def test_a_row_is_cover_title_artist_and_named_icons(page, live_server, size):
    open_songs(page, size)
    row = page.locator(".rec-item").first
    name = row.locator(".rec-title strong").inner_text()

    cover = row.get_by_role("button", name=re.compile(r"^Play "))
    spotify = row.get_by_role("link", name=re.compile(r"^Open in Spotify: "))
    why = row.get_by_role("button", name="Why this?")
    for part in (cover, row.locator(".rec-title"), row.locator(".rec-artist"), spotify, why):
        assert part.is_visible()
    assert name in spotify.text_content()
    # One line of cover, words and icons: the icons sit beside the title, not on a line of their own.
    cover_box, title_box, why_box = (part.bounding_box() for part in (cover, row.locator(".rec-title"), why))
    assert why_box["y"] < cover_box["y"] + cover_box["height"]
    assert title_box["y"] < cover_box["y"] + cover_box["height"]
    assert row.bounding_box()["height"] <= 110
    # "Open in Spotify" and "Why this?" are names for screen readers on two small icons, not rows of words.
    assert row.locator(".rec-actions").bounding_box()["width"] <= 100

    why.click()
    assert why.get_attribute("aria-expanded") == "true" and row.locator(".rec-reasons").is_visible()
    row.locator("label[title='4 stars']").click()
    page.locator("[data-rec-status]").filter(has_text="Saved 4 stars").wait_for()
    assert page_width(page) <= size["width"]


# --- 6. The player never dead-ends ----------------------------------------------------------------------


@SIZES
def test_when_the_embed_does_not_load_the_player_says_so_and_links_to_spotify(page, live_server, size):
    page.route(EMBED, lambda route: None)  # never answered, as when Spotify is blocked
    open_songs(page, size)
    page.locator("[data-mini-player]").evaluate("(node) => node.setAttribute('data-load-timeout-ms', '500')")
    row = page.locator(".rec-item").first
    name = row.locator(".rec-title strong").inner_text()
    spotify_url = row.locator("a", has_text="Open in Spotify").get_attribute("href")
    row.locator(".rec-cover").click()

    player = page.locator("[data-mini-player]")
    failed = player.locator("[data-mini-failed]")
    failed.wait_for(state="visible")
    assert "did not load" in failed.inner_text()
    assert player.locator("iframe").count() == 0
    assert name in player.locator("[data-mini-title]").inner_text()
    open_link = player.get_by_role("link", name=re.compile("^Open in Spotify"))
    assert open_link.is_visible() and open_link.get_attribute("href") == spotify_url
    assert page_width(page) <= size["width"]

    # Offline, it says so at once; the next song clears the message when its player loads.
    page.unroute(EMBED)
    page.route(EMBED, lambda route: route.fulfill(status=200, content_type="text/html", body="<p>player</p>"))
    page.context.set_offline(True)
    page.locator(".rec-item").nth(1).locator(".rec-cover").click()
    assert failed.is_visible() and player.locator("iframe").count() == 0
    page.context.set_offline(False)
    player.get_by_role("button", name="Next").click()
    player.locator("iframe").wait_for()
    page.wait_for_timeout(800)
    assert failed.is_hidden()
    assert player.locator("[data-mini-title]").inner_text().startswith("3 of 10: ")


# --- 10. One word per thing -------------------------------------------------------------------------------


@SIZES
def test_an_emotion_and_a_strategy_have_one_word_everywhere(page, live_server, staff_user, size):
    detection = DetectionFactory(finished=True, user=staff_user, shares=probabilities(fear=0.7, sad=0.3))
    OutcomeFactory(detection=detection, strategy="uplift")
    log_in(page, staff_user)
    page.set_viewport_size(size)

    page.goto("/admin/insights/")
    corrections = page.locator("#corrections-heading").locator("xpath=..").locator("tbody th").all_inner_texts()
    confusion = page.locator("table.confusion tbody th").all_inner_texts()
    words = ["Angry", "Disgusted", "Scared", "Happy", "Sad", "Surprised", "Neutral"]
    assert sorted(corrections) == sorted(words) and sorted(confusion) == sorted(words)
    assert "Disgust" not in page.locator("table.confusion thead").inner_text().split()

    page.goto("/history/")
    page.get_by_role("heading", name="Your emotions over time").wait_for()
    main = page.locator("main").inner_text()
    assert "Lift my mood" in main and "Uplift" not in main and "moods over time" not in main

    page.goto("/mood/")
    assert page.title().startswith("Pick my mood")
    page.get_by_role("group", name="How you feel").wait_for()
    assert "emotion" not in page.locator("main").inner_text().lower()
    assert page_width(page) <= size["width"]


# --- 12. A front page for visitors ----------------------------------------------------------------------


@SIZES
def test_a_visitor_sees_what_emomusic_does(page, live_server, size):
    page.set_viewport_size(size)
    page.goto("/")
    page.get_by_role("heading", name="Music for how you feel right now").wait_for()
    steps = page.get_by_role("list", name="The moment, in three steps").locator("li").all_inner_texts()
    assert [step.strip() for step in steps] == ["A selfie", "An emotion", "Songs for it"]
    for strategy in ("Match my mood", "Lift my mood", "Calm me down"):
        assert page.get_by_text(strategy, exact=True).is_visible()
    main = page.locator("main").inner_text()
    assert all(word in main for word in ("disgusted", "scared", "surprised"))  # the site's one word per emotion
    picture = page.get_by_role("figure", name=re.compile("^A result"))
    assert picture.is_visible() and picture.locator("svg").count() >= 4
    assert picture.locator("img").count() == 0  # drawn in the page, no image file
    assert page.get_by_role("link", name="Sign up, it's free").is_visible()
    assert page.get_by_role("link", name="Log in", exact=True).first.is_visible()
    assert page_width(page) <= size["width"]
    assert serious_violations(page) == []

    page.get_by_role("link", name="Create an account").click()
    page.wait_for_url(re.compile(r"/accounts/signup/"))


def test_a_signed_in_user_keeps_the_upload_page(page, live_server):
    log_in(page, UserFactory())
    page.goto("/")
    page.get_by_role("heading", name="How are you feeling?").wait_for()
    assert page.get_by_role("figure", name=re.compile("^A result")).count() == 0


# --- The changed pages, for axe-core and a phone's width ------------------------------------------------


@SIZES
def test_the_changed_pages_have_no_serious_accessibility_violations(page, live_server, staff_user, size):
    page.route(EMBED, lambda route: route.fulfill(status=200, content_type="text/html", body="<p>player</p>"))
    detection = open_songs(page, size, user=staff_user)
    OutcomeFactory(detection=detection, strategy="uplift")
    page.locator(".rec-item").first.locator(".rec-cover").click()
    found = {}
    widths = {}
    for path, ready in (
        (f"/detections/{detection.pk}/", ".rec-item"),
        ("/mood/?emotion=sad", ".rec-item"),
        ("/mood/", "main h1"),
        ("/history/", "#timeline-heading"),
        ("/songs/", ".catalog-cover svg"),
    ):
        page.goto(path)
        page.locator(ready).first.wait_for()
        if page.locator(".rec-item").count():
            page.locator(".rec-item").first.locator(".rec-cover").click()
        widths[path] = page_width(page)
        serious = serious_violations(page)
        if serious:
            found[path] = serious
    assert found == {}
    assert max(widths.values()) <= size["width"], widths
