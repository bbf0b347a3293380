"""The mood map's arithmetic: places, a reading's point, strategies' moves, regions, ranking, variety."""

import math

import numpy as np
import pytest

from recommendations import mood_map
from recommendations.mood_map import (
    DEFAULT_PLACES,
    MapPoint,
    MoodRegions,
    OffTheMap,
    circumplex_place,
    jaccard,
    map_content,
    plane_closeness,
    reading_point,
    steady_content,
    strategy_target,
)


def test_every_emotion_has_a_place_on_the_plane_with_its_source():
    assert set(DEFAULT_PLACES) == set(mood_map.EMOTIONS) == set(mood_map.DEFAULT_PLACE_SOURCES)
    for place in DEFAULT_PLACES.values():
        assert 0.0 <= place.valence <= 1.0 and 0.0 <= place.energy <= 1.0


def test_the_places_follow_the_circumplex():
    places = DEFAULT_PLACES
    assert places["neutral"] == MapPoint(0.5, 0.5)
    assert places["happy"].valence > 0.8 and 0.5 < places["happy"].energy < 0.65  # pleasant, moderately aroused
    assert places["surprise"].energy > 0.8 and places["surprise"].valence > 0.5  # aroused, mildly pleasant
    for unpleasant_and_aroused in ("angry", "fear"):
        assert places[unpleasant_and_aroused].valence < 0.5 and places[unpleasant_and_aroused].energy > 0.8
    assert places["disgust"].valence < 0.3 and 0.6 < places["disgust"].energy < 0.8  # moderate arousal
    assert places["sad"].valence < 0.3 and places["sad"].energy < 0.4


def test_a_circumplex_angle_maps_onto_the_unit_square():
    assert circumplex_place(0) == MapPoint(0.85, 0.5)
    assert circumplex_place(90) == MapPoint(0.5, 0.85)
    assert circumplex_place(180, radius=0.5) == MapPoint(0.0, 0.5)


@pytest.mark.parametrize(("valence", "energy"), [(-0.1, 0.5), (0.5, 1.2), (math.nan, 0.5), ("0.5", 0.5), (True, 0.5)])
def test_a_point_off_the_map_is_refused_with_a_sentence(valence, energy):
    with pytest.raises(OffTheMap, match="must be a number from 0 to 1"):
        MapPoint(valence, energy)


def test_the_point_is_the_probability_weighted_mean_of_the_places():
    places = {"happy": MapPoint(1.0, 0.5), "sad": MapPoint(0.0, 0.0)}

    point = reading_point({"happy": 0.75, "sad": 0.25, "fear": 0.0}, places)

    assert point == MapPoint(0.75, 0.375)


def test_the_point_ignores_what_is_not_a_probability_and_renormalizes():
    places = {"happy": MapPoint(1.0, 1.0), "sad": MapPoint(0.0, 0.0)}

    assert reading_point({"happy": 0.2, "sad": 0.2, "bored": 0.6, "fear": -1}, places) == MapPoint(0.5, 0.5)
    assert reading_point({"happy": "lots"}, places) == MapPoint(0.5, 0.5)  # nothing usable: the centre


def test_match_stays_lift_raises_valence_calm_lowers_energy():
    point = MapPoint(0.4, 0.5)

    assert strategy_target(point, strategy="match", amount=0.5) == point
    lifted = strategy_target(point, strategy="uplift", amount=0.2)
    calmed = strategy_target(point, strategy="calm", amount=0.2)
    assert lifted.valence == pytest.approx(0.4 + 0.2 * 0.97) and lifted.energy > point.energy
    assert calmed.energy == pytest.approx(0.5 - 0.2 * 0.97) and calmed.valence < point.valence
    assert strategy_target(point, strategy="uplift", amount=0.0) == point


def test_a_move_stays_on_the_map():
    assert strategy_target(MapPoint(0.9, 0.9), strategy="uplift", amount=1.0).valence == 1.0
    assert strategy_target(MapPoint(0.1, 0.1), strategy="calm", amount=1.0) == MapPoint(0.0, 0.0)


def test_regions_are_the_nearest_centroid():
    regions = MoodRegions(mood_ids=(1, 2), centroids=np.array([[0.2, 0.2], [0.8, 0.8]]))

    assert regions.mood_of(MapPoint(0.1, 0.3)) == 1
    assert regions.mood_of(MapPoint(0.6, 0.55)) == 2
    assert regions.region_of(np.array([[0.0, 0.0], [1.0, 1.0], [0.49, 0.5]])).tolist() == [0, 1, 0]
    assert MoodRegions(mood_ids=(), centroids=np.zeros((0, 2))).mood_of(MapPoint(0.5, 0.5)) is None


def test_closeness_on_the_plane_ranks_nearer_songs_first():
    plane = np.array([[0.5, 0.5], [0.55, 0.5], [0.9, 0.1]], dtype=np.float32)

    closeness = plane_closeness(plane, MapPoint(0.5, 0.5))

    assert closeness[0] == pytest.approx(1.0)
    assert closeness[0] > closeness[1] > closeness[2]


def test_the_plane_outweighs_the_other_features():
    plane = np.array([[0.5, 0.5], [0.9, 0.5]], dtype=np.float32)

    # The far song matches the other features perfectly and is the most popular.
    steady = steady_content(feature_closeness=np.array([0.0, 1.0]), popularity=np.array([0.0, 1.0]))

    score = map_content(plane=plane, steady=steady, target=MapPoint(0.5, 0.5), seed=None)

    assert score[0] > score[1]


def test_variety_is_seeded_per_user():
    plane = np.random.default_rng(0).random((500, 2)).astype(np.float32)
    common = {"plane": plane, "steady": np.zeros(500, dtype=np.float32)}
    target = MapPoint(0.5, 0.5)

    def top(seed: int) -> list[int]:
        return np.argsort(-map_content(**common, target=target, seed=seed))[:10].tolist()

    assert top(1) == top(1)
    assert jaccard(top(1), top(2)) <= 0.5


def test_jaccard():
    assert jaccard([1, 2, 3], [2, 3, 4]) == 0.5
    assert jaccard([], []) == 1.0


def test_a_point_in_words():
    assert mood_map.point_in_words(MapPoint(0.2, 0.5)) == "low valence, middling energy"


# --- Regions as polygons, and the checks on centres admins set ---------------------------------------

DEFAULT_CENTRES = [(name.capitalize(), centre) for name, centre in mood_map.DEFAULT_MOOD_CENTRES.items()]


def test_each_region_is_the_part_of_the_square_nearest_its_centre():
    centres = np.array([[0.25, 0.5], [0.75, 0.5]])

    left, right = mood_map.region_polygons(centres)

    assert mood_map.polygon_area(left) == pytest.approx(0.5) == mood_map.polygon_area(right)
    assert mood_map.polygon_centre(left) == pytest.approx((0.25, 0.5))
    assert max(x for x, _ in left) == pytest.approx(0.5) and min(x for x, _ in right) == pytest.approx(0.5)


def test_the_default_regions_raise_no_problem():
    assert mood_map.region_problems(DEFAULT_CENTRES) == []


def test_centres_on_top_of_each_other_are_named():
    centres = [*DEFAULT_CENTRES[:3], ("Energetic", MapPoint(0.29, 0.4))]  # beside Sad's 0.289, 0.388

    problems = mood_map.region_problems(centres)

    assert problems[0].startswith("Sad and Energetic would sit on top of each other on the mood map")
    assert "at least 0.05 apart" in problems[0]


def test_a_region_squeezed_into_a_corner_is_named():
    centres = [("Calm", MapPoint(0.0, 0.0)), ("Sad", MapPoint(0.06, 0.06)), ("Happy", MapPoint(0.5, 0.5))]

    problems = mood_map.region_problems(centres)

    assert problems == ["Calm's region would cover less than 1% of the mood map: move its centre away from the others."]


def test_regions_from_centres_are_ordered_by_mood_id():
    regions = MoodRegions.from_centres({7: MapPoint(0.9, 0.1), 2: MapPoint(0.2, 0.2)})

    assert regions.mood_ids == (2, 7)
    np.testing.assert_allclose(regions.centroids, [[0.2, 0.2], [0.9, 0.1]])
    assert regions.mood_of(MapPoint(0.7, 0.15)) == 7
    assert MoodRegions.from_centres({}).mood_of(MapPoint(0.5, 0.5)) is None


def test_the_nearest_emotion_names_a_picked_point():
    assert mood_map.nearest_emotion(MapPoint(0.85, 0.55)) == "happy"
    assert mood_map.nearest_emotion(MapPoint(0.19, 0.33)) == "sad"
    assert mood_map.nearest_emotion(MapPoint(0.5, 0.5)) == "neutral"
    assert mood_map.nearest_emotion(MapPoint(0.9, 0.1), {"sad": MapPoint(0.9, 0.1)}) == "sad"
