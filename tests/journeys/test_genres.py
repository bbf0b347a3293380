"""Genres in the browser, at 1280 px and at 390 px: leave a genre out in the profile and no list holds it;
filter a list by genre with the songs panel's control. No page scrolls sideways, and axe-core finds no
serious or critical violation."""

import re

import pytest

from catalog.models import Song
from recommendations.engine import genre_key
from tests.factories import DetectionFactory, UserFactory, probabilities
from tests.journeys.conftest import DESKTOP, PHONE, log_in, page_width, serious_violations
from tests.recommendations.conftest import genres_given, load_seed_songs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])


def listed_genres(page) -> set[str]:
    """The genres of the songs the panel lists, as the database has them."""
    ids = [int(song) for song in page.locator(".rec-item").evaluate_all("(items) => items.map((i) => i.dataset.song)")]
    assert ids, "no song listed"
    return {genre_key(genre) for genre in Song.objects.filter(pk__in=ids).values_list("genre", flat=True)}


def fits(page, size) -> None:
    assert page_width(page) <= size["width"]
    assert serious_violations(page) == []


@SIZES
def test_a_genre_left_out_in_the_profile_is_in_no_list(page, live_server, size):
    genres_given(load_seed_songs())
    user = UserFactory()
    log_in(page, user)
    page.set_viewport_size(size)

    page.goto("/accounts/profile/")
    genres = page.get_by_role("group", name="Genres to leave out")
    genres.get_by_label(re.compile(r"^rock \(")).check()
    genres.get_by_label(re.compile(r"^pop \(")).check()
    fits(page, size)
    page.get_by_role("button", name="Save genres").click()
    page.wait_for_url(re.compile(r"/accounts/profile/#genres$"))
    assert page.get_by_text("Your lists now leave out pop, rock.").is_visible()
    assert page.get_by_label(re.compile(r"^rock \(")).is_checked()
    fits(page, size)

    detection = DetectionFactory(finished=True, user=user, shares=probabilities(happy=0.8, neutral=0.2))
    page.goto(f"/detections/{detection.pk}/")
    page.locator(".rec-item").first.wait_for()
    assert page.locator(".rec-item").count() == 10
    assert not listed_genres(page) & {"rock", "pop"}
    # The filter offers only the genres the user keeps.
    offered = page.get_by_label("Genre", exact=True).locator("option").all_inner_texts()
    assert offered == ["All genres", "edm", "latin", "r&b", "rap"]
    fits(page, size)


@SIZES
def test_filtering_a_list_by_genre(page, live_server, size):
    genres_given(load_seed_songs())
    user = UserFactory()
    log_in(page, user)
    page.set_viewport_size(size)

    page.goto("/mood/?emotion=sad")
    page.locator(".rec-item").first.wait_for()
    assert len(listed_genres(page) - {""}) > 1
    # With the script the filter needs no button: choosing a genre reloads the list in place.
    assert page.get_by_role("button", name="Show", exact=True).is_hidden()

    page.get_by_label("Genre", exact=True).select_option("edm")
    page.locator("[data-rec-status]", has_text="Showing edm songs.").wait_for()
    assert listed_genres(page) == {"edm"}
    assert "genre=edm" in page.url
    fits(page, size)

    # Another emotion keeps the genre; a reload keeps it too.
    page.get_by_role("button", name="Happy").click()
    page.wait_for_url(re.compile(r"emotion=happy"))
    page.locator(".rec-item").first.wait_for()
    assert page.get_by_label("Genre", exact=True).input_value() == "edm"
    assert listed_genres(page) == {"edm"}

    page.get_by_label("Genre", exact=True).select_option("")
    page.locator("[data-rec-status]", has_text="Showing every genre.").wait_for()
    assert len(listed_genres(page) - {""}) > 1
    assert "genre=" not in page.url


def test_the_genre_filter_works_without_javascript(browser_factory, live_server):
    genres_given(load_seed_songs())
    user = UserFactory()
    context = browser_factory().new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    log_in(page, user)

    page.goto("/mood/?emotion=sad")
    page.get_by_label("Genre", exact=True).select_option("latin")
    page.get_by_role("button", name="Show", exact=True).click()

    page.wait_for_url(re.compile(r"genre=latin"))
    assert "emotion=sad" in page.url
    assert page.get_by_label("Genre", exact=True).input_value() == "latin"
    context.close()
