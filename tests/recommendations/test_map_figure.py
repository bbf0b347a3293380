"""The mood map drawn for a page: the renderer (recommendations.map_figure), its selector and its template."""

import re

import numpy as np
import pytest
from django.template.loader import render_to_string

from catalog.models import Mood
from recommendations import map_figure, selectors
from recommendations.catalog_cache import current_catalog
from recommendations.engine import FEATURES, SongRow, build_catalog
from recommendations.mood_map import MapPoint, point_in_words, polygon_area, region_polygons
from tests.factories import UserFactory

REGIONS = [
    ("Happy", MapPoint(0.579, 0.752)),
    ("Sad", MapPoint(0.289, 0.388)),
    ("Calm", MapPoint(0.151, 0.156)),
    ("Energetic", MapPoint(0.437, 0.884)),
]


def draw(**overrides) -> map_figure.MapFigure:
    arguments = {
        "sample": np.array([[0.1, 0.2], [0.8, 0.9]], dtype=np.float32),
        "catalog_size": 28_000,
        "regions": REGIONS,
        "point": MapPoint(0.2, 0.5),
        "target": MapPoint(0.685, 0.621),
        "strategy_label": "Lift my mood",
        "mood_name": "Happy",
        "songs": [(7, "Smile", MapPoint(0.7, 0.6)), (9, "Shine <b>", MapPoint(0.75, 0.65))],
    }
    return map_figure.map_figure(**{**arguments, **overrides})


def rendered(figure: map_figure.MapFigure) -> str:
    return render_to_string("recommendations/_mood_map.html", {"mood_map": figure, "mood_map_url": "/mood/map?x=1"})


def test_the_regions_tile_the_square():
    cells = region_polygons(np.array([[centre.valence, centre.energy] for _, centre in REGIONS]))

    assert sum(polygon_area(cell) for cell in cells) == pytest.approx(1.0)
    assert all(polygon_area(cell) > 0.05 for cell in cells)


def test_the_svg_holds_caption_regions_point_target_and_songs():
    html = rendered(draw())

    assert html.count("<figure") == 1 and "<figcaption>" in html and "Mood map" in html
    assert re.search(r"<figcaption>\s*<strong>Mood map</strong>", html)
    assert 'role="img" aria-labelledby="mood-map-title mood-map-desc"' in html
    assert html.count("<polygon") == 4
    for name, _ in REGIONS:
        assert f'data-map-region="{name}">{name}</text>' in html
    assert "data-map-point" in html and ">Your reading</text>" in html
    assert "data-map-target" in html and ">Lift my mood</text>" in html
    assert 'marker-end="url(#mood-map-arrowhead)"' in html
    assert re.findall(r'data-map-song="(\d+)"', html) == ["7", "9"]
    assert "<title>Shine &lt;b&gt;</title>" in html  # song names are text, never markup
    # Every sampled song is one small circle of a single path, not an element of its own.
    assert html.count('class="mood-map-dots"') == 1 and html.count("<circle") == 2 + 2


def test_the_text_alternative_says_where_the_reading_is_and_where_it_goes():
    figure = draw()

    assert figure.description.startswith("Valence (sad to happy) runs left to right")
    assert "Your reading: low valence, middling energy." in figure.description
    assert "Lift my mood moves it to Happy (high valence, high energy)." in figure.description
    assert "The 2 songs listed are highlighted." in figure.description
    assert "Faint dots show 2 of the catalog's 28,000 songs." in figure.description
    assert f'<desc id="mood-map-desc">{figure.description}' in rendered(figure).replace("&#x27;", "'")


def test_match_keeps_the_point_and_draws_no_arrow():
    figure = draw(target=MapPoint(0.2, 0.5), strategy_label="Match my mood", mood_name="Sad")

    assert figure.arrow is None and figure.target is None
    assert "Match my mood keeps it in Sad." in figure.description
    assert "data-map-target" not in rendered(figure)


def test_a_map_without_a_reading_shows_only_the_regions():
    figure = draw(point=None, target=None, songs=())

    html = rendered(figure)
    assert "data-map-point" not in html and "data-map-song" not in html
    assert "Your reading" not in figure.description and "the four moods as regions" in html


def test_labels_stay_inside_the_plot():
    for point in (MapPoint(1.0, 1.0), MapPoint(0.0, 0.0), MapPoint(1.0, 0.0), MapPoint(0.0, 1.0)):
        mark = draw(point=point, target=point).point
        assert map_figure.PLOT_TOP < mark.label_y < map_figure.PLOT_TOP + map_figure.PLOT_SIZE
        assert mark.anchor == ("end" if point.valence > 0.5 else "start")


def test_the_catalog_sample_is_small_and_the_same_every_time():
    rows = [
        SongRow(
            song_id=index,
            title=f"Song {index}",
            artist="",
            genre="",
            mood_id=None,
            mood_labelled=False,
            popularity=50.0,
            values={name: 0.5 for name in FEATURES} | {"valence": (index % 97) / 96, "energy": (index % 89) / 88},
        )
        for index in range(1, 5001)
    ]
    catalog = build_catalog(rows)

    first = map_figure.catalog_sample(catalog)
    assert map_figure.catalog_sample(catalog) is first  # kept while the matrix is the current one
    again = map_figure.catalog_sample(build_catalog(rows))

    assert first.shape == (map_figure.SAMPLE_SIZE, 2)
    np.testing.assert_array_equal(first, again)


def test_a_tap_maps_back_to_the_point_drawn():
    x, y = map_figure.to_svg(0.25, 0.8)

    assert map_figure.to_plane(x, y) == MapPoint(0.25, 0.8)


@pytest.mark.django_db
def test_the_selector_draws_the_users_list_on_the_catalog(seed_songs):
    user = UserFactory(strategy="uplift")

    figure = selectors.mood_map_figure_for(user=user, strategy="uplift", emotion="sad")
    listed = selectors.recommendations_for(user=user, emotion="sad", strategy="uplift")

    assert [song.song_id for song in figure.songs] == [result.song.pk for result in listed.results]
    assert [region.name for region in figure.regions] == ["Happy", "Sad", "Calm", "Energetic"]
    assert figure.dot_count == map_figure.SAMPLE_SIZE and figure.catalog_size == len(seed_songs)
    assert f"Your reading: {point_in_words(listed.point)}." in figure.description
    assert f"Lift my mood moves it to {listed.mood.name}" in figure.description


@pytest.mark.django_db
def test_the_selector_draws_a_picked_point_and_the_songs_asked_for(seed_songs):
    user = UserFactory()
    wanted = [seed_songs[3].pk, seed_songs[1].pk, 10**12]

    figure = selectors.mood_map_figure_for(user=user, strategy="match", point=MapPoint(0.15, 0.15), song_ids=wanted)

    assert [song.song_id for song in figure.songs] == wanted[:2]
    assert figure.point is not None and figure.target is None  # match leaves it in place
    assert "Your point: low valence, low energy. Match my mood keeps it in Calm." in figure.description


@pytest.mark.django_db
def test_the_regions_drawn_are_those_the_admins_set(seed_songs):
    user = UserFactory()
    point = MapPoint(0.3, 0.25)
    before = selectors.recommendations_for(user=user, emotion="sad", strategy="match", point=point)
    calm = Mood.objects.get(name="Calm")
    calm.centre_valence, calm.centre_energy = 0.25, 0.2
    calm.save()

    figure = selectors.mood_map_figure_for(user=user, strategy="match", point=point)
    after = selectors.recommendations_for(user=user, emotion="sad", strategy="match", point=point)

    assert before.mood.name == "Sad"
    assert "keeps it in Calm" in figure.description
    # The mood named and the songs listed agree: both come from the moved regions.
    assert after.mood == calm and len(after.results) == 10
    assert {result.song.mood_id for result in after.results} <= {calm.pk, None}
    assert current_catalog().size == len(seed_songs)


def test_the_labels_sit_away_from_the_arrow_between_the_marks():
    figure = draw(point=MapPoint(0.4, 0.4), target=MapPoint(0.6, 0.6))

    # The reading's label left of it and below, the target's right of it and above: neither on the arrow.
    assert figure.point.anchor == "end" and figure.point.label_y > figure.point.y
    assert figure.target.anchor == "start" and figure.target.label_y < figure.target.y


def test_a_label_that_would_leave_the_plot_turns_back():
    figure = draw(point=MapPoint(0.1, 0.4), target=MapPoint(0.95, 0.6))

    # Leftward of the reading there is no room for "Your reading", rightward of the target none for its label.
    assert figure.point.anchor == "start" and figure.target.anchor == "end"
