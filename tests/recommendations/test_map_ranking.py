"""The mood map over the seed catalog's matrix: regions, candidates, ranking inside a region, variety."""

from pathlib import Path

import numpy as np
import pytest

from recommendations import engine
from recommendations.engine import UserRatings, build_catalog
from recommendations.evaluation import seed_catalog_rows
from recommendations.map_ranking import catalog_map, catalog_plane, map_scores
from recommendations.mood_map import MapPoint, jaccard

SEED_DIR = Path(__file__).resolve().parents[2] / "catalog" / "seed"
MOOD_IDS = {"happy": 1, "sad": 2, "calm": 3, "energetic": 4}


@pytest.fixture(scope="module")
def catalog():
    return build_catalog(seed_catalog_rows(SEED_DIR / "data_moods.csv", SEED_DIR / "track_genres.csv", MOOD_IDS))


def _song_moods(catalog) -> np.ndarray:
    return np.array(catalog.mood_ids)[catalog.mood_codes]


def _recommend(catalog, target: MapPoint, *, seed: int | None = None, ratings=None, limit: int = 10):
    scores = map_scores(catalog, target=target, seed=seed, minimum=limit)
    picks = engine.recommend(
        catalog,
        mood_weights={},
        mood_id=scores.mood_id,
        mood_name="Mood",
        ratings=ratings or UserRatings.empty(),
        emotion="sad",
        limit=limit,
        seed=1,
        content=(scores.content, scores.profile),
    )
    return scores.mood_id, [pick.row for pick in picks]


def test_the_regions_centres_are_the_labelled_songs_means(catalog):
    mapped = catalog_map(catalog)
    plane = catalog_plane(catalog)
    moods = _song_moods(catalog)

    for code, mood_id in enumerate(mapped.regions.mood_ids):
        assert mapped.regions.centroids[code] == pytest.approx(plane[moods == mood_id].mean(axis=0), abs=1e-4)
    assert catalog_map(catalog) is mapped  # kept while the matrix is the current one


@pytest.mark.parametrize(
    ("target", "mood"),
    [
        (MapPoint(0.85, 0.6), "happy"),
        (MapPoint(0.2, 0.35), "sad"),
        (MapPoint(0.1, 0.1), "calm"),
        (MapPoint(0.45, 0.95), "energetic"),
    ],
)
def test_every_listed_song_lies_in_the_named_moods_region_and_carries_its_mood(catalog, target, mood):
    mapped = catalog_map(catalog)

    mood_id, rows = _recommend(catalog, target)

    assert mood_id == MOOD_IDS[mood]
    assert len(rows) == 10
    region = mapped.regions.mood_ids.index(mood_id)
    assert (mapped.region_codes[rows] == region).all()
    assert (_song_moods(catalog)[rows] == mood_id).all()


def test_songs_closer_to_the_target_on_the_plane_rank_first(catalog):
    target = MapPoint(0.2, 0.35)
    scores = map_scores(catalog, target=target, seed=None)
    plane = catalog_map(catalog).plane
    candidates = np.flatnonzero(np.isfinite(scores.content))
    distance = np.hypot(*(plane[candidates] - target.as_array()).T)
    order = candidates[np.argsort(-scores.content[candidates])]

    nearest_tenth = set(candidates[np.argsort(distance)][: len(candidates) // 10].tolist())
    assert len(nearest_tenth & set(order[:10].tolist())) >= 6
    assert np.corrcoef(distance, scores.content[candidates])[0, 1] < -0.8


def test_two_new_users_with_one_reading_get_different_lists(catalog):
    target = MapPoint(0.85, 0.6)

    _, first = _recommend(catalog, target, seed=101)
    _, again = _recommend(catalog, target, seed=101)
    _, second = _recommend(catalog, target, seed=202)

    assert first == again
    assert jaccard(first, second) <= 0.5
    # Variety picks among the songs near the target, not anywhere in the region.
    plane = catalog_map(catalog).plane
    candidates = np.flatnonzero(np.isfinite(map_scores(catalog, target=target, seed=None).content))
    distance = np.hypot(*(plane - target.as_array()).T)
    assert distance[first + second].mean() < 0.7 * distance[candidates].mean()


def test_ratings_still_steer_the_list_inside_the_region(catalog):
    target = MapPoint(0.2, 0.35)
    mood_id, before = _recommend(catalog, target, seed=7)
    disliked = UserRatings(rows=np.array(before[:3]), scores=np.array([1.0, 1.0, 1.0]), emotions=["sad"] * 3)

    _, after = _recommend(catalog, target, seed=7, ratings=disliked)

    assert not set(before[:3]) & set(after)
    assert (_song_moods(catalog)[after] == mood_id).all()


def test_a_song_whose_mood_the_catalog_filled_in_lies_in_its_moods_region(db):
    """The catalog's rule (catalog.mood_regions) and the map's regions are the same cells."""
    from catalog.models import Song
    from catalog.services import moods_fill_missing
    from recommendations.catalog_cache import current_catalog
    from tests.factories import MoodFactory, SongFactory

    rng = np.random.default_rng(3)
    for name, centre in (
        ("Calm", (0.15, 0.15)),
        ("Sad", (0.3, 0.4)),
        ("Happy", (0.6, 0.75)),
        ("Energetic", (0.45, 0.9)),
    ):
        mood = MoodFactory(name=name)
        for valence, energy in np.clip(rng.normal(centre, 0.08, (6, 2)), 0, 1):
            SongFactory(mood=mood, valence=valence, energy=energy)
    for valence, energy in rng.random((60, 2)):
        SongFactory(mood=None, valence=valence, energy=energy)

    assert moods_fill_missing().filled == 60

    catalog = current_catalog()
    mapped = catalog_map(catalog)
    predicted = Song.objects.filter(mood_predicted=True)
    rows = [catalog.row_of[song.pk] for song in predicted]
    regions = [mapped.regions.mood_ids[code] for code in mapped.region_codes[rows]]
    assert regions == [song.mood_id for song in predicted]
