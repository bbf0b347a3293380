"""The genres on the pages: the profile's form of genres to leave out, and the songs panel's genre filter
(a GET form, on the result page and on Pick my mood)."""

import re
from html import escape, unescape

from django.urls import reverse

from catalog.models import Song
from recommendations import services
from recommendations.catalog_cache import catalog_forget
from recommendations.models import ExcludedGenre
from tests.factories import DetectionFactory
from tests.recommendations.conftest import GENRES


def checkbox(page: str, genre: str) -> str:
    match = re.search(rf'<input type="checkbox" name="excluded_genres" value="{re.escape(escape(genre))}"[^>]*>', page)
    assert match, f"no checkbox for {genre}"
    return match.group()


def genre_options(page: str) -> list[str]:
    select = re.search(r'<select[^>]*name="genre"[^>]*>(.*?)</select>', page, re.S).group(1)
    return [unescape(value) for value in re.findall(r'<option value="([^"]*)"', select)]


# --- The profile ----------------------------------------------------------------------------------------


def test_the_profile_offers_each_genre_with_those_left_out_ticked(logged_in, user, genre_songs):
    services.excluded_genres_set(user=user, genres=["rap"])

    response = logged_in.get(reverse("profile"))

    assert response.status_code == 200
    page = response.content.decode()
    assert f'action="{reverse("profile_genres")}"' in page
    for genre in GENRES:
        assert ("checked" in checkbox(page, genre)) == (genre == "rap")
    assert "n/a" not in page.lower().replace("n/a)", "")


def test_the_profile_keeps_showing_a_genre_left_out_that_the_catalog_has_lost(logged_in, user, genre_songs):
    ExcludedGenre.objects.create(user=user, genre="polka")

    page = logged_in.get(reverse("profile")).content.decode()

    assert "checked" in checkbox(page, "polka")
    assert "polka (0 songs)" in page


def test_the_profile_of_an_empty_catalog_says_there_is_no_genre(logged_in, db):
    page = logged_in.get(reverse("profile")).content.decode()

    assert "None of the catalog's songs has a genre yet" in page


def test_ticking_genres_leaves_them_out(logged_in, user, genre_songs):
    response = logged_in.post(reverse("profile_genres"), {"excluded_genres": ["rock", "edm"]})

    assert response.status_code == 302
    assert response["Location"] == reverse("profile") + "#genres"
    assert list(ExcludedGenre.objects.filter(user=user).values_list("genre", flat=True)) == ["edm", "rock"]
    page = logged_in.get(response["Location"]).content.decode()
    assert "Your lists now leave out edm, rock." in page
    assert "checked" in checkbox(page, "rock")


def test_unticking_every_genre_includes_them_all_again(logged_in, user, genre_songs):
    services.excluded_genres_set(user=user, genres=["rock"])

    response = logged_in.post(reverse("profile_genres"), {})

    assert response.status_code == 302
    assert not ExcludedGenre.objects.filter(user=user).exists()


def test_a_genre_not_offered_is_refused_with_a_sentence_and_nothing_saved(logged_in, user, genre_songs):
    services.excluded_genres_set(user=user, genres=["rock"])

    response = logged_in.post(reverse("profile_genres"), {"excluded_genres": ["pop", "polka"]})

    assert response.status_code == 400
    assert "The catalog has no genre “polka”. Tick genres from the list." in response.content.decode()
    assert list(ExcludedGenre.objects.filter(user=user).values_list("genre", flat=True)) == ["rock"]


def test_saving_genres_changes_only_the_users_own(logged_in, user, other_user, genre_songs):
    services.excluded_genres_set(user=other_user, genres=["latin"])

    logged_in.post(reverse("profile_genres"), {"excluded_genres": ["rock"]})

    assert ExcludedGenre.objects.get(user=other_user).genre == "latin"


def test_saving_genres_needs_a_user_and_a_post(client, logged_in, genre_songs):
    response = client.post(reverse("profile_genres"), {"excluded_genres": ["rock"]})

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not ExcludedGenre.objects.exists()
    assert logged_in.get(reverse("profile_genres")).status_code == 405


# --- The songs panel's genre filter ---------------------------------------------------------------------


def test_pick_my_mood_offers_the_genres_not_left_out(logged_in, user, genre_songs):
    services.excluded_genres_set(user=user, genres=["rap"])

    response = logged_in.get(reverse("pick_mood"), {"emotion": "sad", "genre": "Rock"})

    assert response.status_code == 200
    page = response.content.decode()
    assert genre_options(page) == ["", *sorted(set(GENRES) - {"rap"})]
    assert '<option value="rock" selected>' in page
    # Without the script the filter is a GET form that keeps the emotion and the strategy.
    form = re.search(r'<form method="get" class="rec-genre".*?</form>', page, re.S).group()
    assert '<input type="hidden" name="emotion" value="sad">' in form
    assert 'name="strategy" value="match"' in form
    assert '<input type="hidden" name="genre" value="rock" data-genre-input>' in page


def test_pick_my_mood_with_an_unknown_genre_says_so_and_shows_every_genre(logged_in, genre_songs):
    response = logged_in.get(reverse("pick_mood"), {"emotion": "sad", "genre": "polka"})

    assert response.status_code == 400
    page = response.content.decode()
    assert "The catalog has no genre “polka”." in page and "Showing every genre." in page
    assert '<option value="" >' not in page and "selected>" not in page.split('name="genre"')[1].split("</select>")[0]


def test_the_result_page_filters_by_a_genre_and_refuses_one_left_out(logged_in, user, genre_songs):
    detection = DetectionFactory(finished=True, user=user)
    services.excluded_genres_set(user=user, genres=["pop"])

    page = logged_in.get(reverse("detection_detail", args=[detection.pk]), {"genre": "edm"}).content.decode()
    assert '<option value="edm" selected>' in page and '"pop"' not in genre_options(page)

    response = logged_in.get(reverse("detection_result", args=[detection.pk]), {"genre": "pop"})
    assert response.status_code == 400
    assert "You left pop out in your profile." in response.content.decode()


def test_an_outsiders_result_page_with_a_genre_is_404(outsider, user, genre_songs):
    detection = DetectionFactory(finished=True, user=user)

    assert outsider.get(reverse("detection_detail", args=[detection.pk]), {"genre": "rock"}).status_code == 404


def test_the_profile_lists_the_broad_genres_first_and_the_narrow_ones_behind_other_genres(logged_in, user, genre_songs):
    Song.objects.filter(pk__in=[song.pk for song in genre_songs[:3]]).update(genre="dream pop")
    catalog_forget()

    page = logged_in.get(reverse("profile")).content.decode()
    others = re.search(r'<details class="genre-others"( open)?>.*?</details>', page, re.S)
    assert others and not others.group(1)
    assert "Other genres (1)" in others.group() and 'value="dream pop"' in others.group()
    assert 'value="rock"' not in others.group() and 'value="rock"' in page

    services.excluded_genres_set(user=user, genres=["dream pop"])
    page = logged_in.get(reverse("profile")).content.decode()
    assert '<details class="genre-others" open>' in page
