"""The engine on its own: numpy over the seed catalog, no database."""

from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from recommendations import engine
from recommendations.engine import SongRow, UserRatings, build_catalog
from recommendations.evaluation import seed_catalog_rows

SEED_DIR = Path(__file__).resolve().parents[2] / "catalog" / "seed"
MOOD_IDS = {"happy": 1, "sad": 2, "calm": 3, "energetic": 4}
MOOD_NAMES = {mood_id: name.capitalize() for name, mood_id in MOOD_IDS.items()}
SAD, CALM = {2: 1.0}, {3: 1.0}


@pytest.fixture(scope="module")
def rows() -> list[SongRow]:
    return seed_catalog_rows(SEED_DIR / "data_moods.csv", SEED_DIR / "track_genres.csv", MOOD_IDS)


@pytest.fixture(scope="module")
def catalog(rows):
    return build_catalog(rows)


def _recommend(catalog, *, ratings=None, weights=SAD, emotion="sad", limit=10, seed=1, **kwargs):
    return engine.recommend(
        catalog,
        mood_weights=weights,
        mood_id=next(iter(weights)),
        mood_name=MOOD_NAMES.get(next(iter(weights)), "Mixed"),
        ratings=ratings or UserRatings.empty(),
        emotion=emotion,
        limit=limit,
        seed=seed,
        **kwargs,
    )


def _rows(picks) -> list[int]:
    return [pick.row for pick in picks]


def test_mood_profiles_are_learned_from_the_labels(catalog):
    valence = engine.FEATURES.index("valence")
    energy = engine.FEATURES.index("energy")
    profiles = {name: catalog.mood_profiles[catalog.mood_ids.index(mood_id)] for name, mood_id in MOOD_IDS.items()}

    assert profiles["happy"][valence] > profiles["sad"][valence]
    assert profiles["energetic"][energy] > profiles["calm"][energy]
    # Features that separate moods weigh more than those that do not.
    assert catalog.feature_weights[energy] > catalog.feature_weights[engine.FEATURES.index("liveness")]


def test_cold_start_ranks_by_content(catalog):
    picks = _recommend(catalog)
    content, _ = engine.content_scores(catalog, SAD)

    assert len(picks) == 10
    assert all(pick.score == pytest.approx(content[pick.row], abs=1e-3) for pick in picks)
    sad_code = catalog.mood_ids.index(2)
    assert sum(catalog.mood_codes[pick.row] == sad_code for pick in picks) >= 8


def test_a_song_without_a_mood_competes_on_its_features_alone(rows):
    # The engine guesses no moods (the catalog's classifier fills them on import): a song
    # left without one earns no label term, only closeness to the profile and popularity.
    stripped = [replace(row, mood_id=None) if index % 2 else row for index, row in enumerate(rows)]
    catalog = build_catalog(stripped)
    labelled_twin = build_catalog(rows)

    content, _ = engine.content_scores(catalog, CALM)
    with_labels, _ = engine.content_scores(labelled_twin, CALM)

    calm_code = labelled_twin.mood_ids.index(3)
    unlabelled_calm = [index for index in range(1, len(rows), 2) if labelled_twin.mood_codes[index] == calm_code]
    assert unlabelled_calm
    assert all(catalog.mood_codes[index] == -1 for index in unlabelled_calm)
    # Profiles come from the labelled half, so closeness moves a little; the label's 0.2 is gone.
    lost = with_labels[unlabelled_calm] - content[unlabelled_calm]
    assert np.all(lost > 0.1)
    # The labelled songs keep their label term.
    labelled_calm = [index for index in range(0, len(rows), 2) if labelled_twin.mood_codes[index] == calm_code]
    assert np.all(content[labelled_calm] >= 0.2)


def test_a_catalog_with_no_labels_at_all_still_answers(rows):
    catalog = build_catalog([replace(row, mood_id=None) for row in rows])

    picks = _recommend(catalog)

    assert len(picks) == 10
    assert all(1 <= len(pick.reasons) <= 3 for pick in picks)


def test_a_five_star_song_lifts_its_neighbours(catalog):
    liked = _rows(_recommend(catalog))[3]
    similarity = engine._similarity(catalog, np.arange(catalog.size), np.array([liked]))[:, 0]
    similarity[liked] = 0
    neighbour = int(np.argmax(similarity))
    before = engine.score_catalog(catalog, mood_weights=SAD, ratings=UserRatings.empty(), emotion="sad").total
    ratings = UserRatings.from_triples(catalog, [(int(catalog.song_ids[liked]), 5, "sad")])

    after = engine.score_catalog(catalog, mood_weights=SAD, ratings=ratings, emotion="sad").total

    rank = lambda scores, row: int((scores > scores[row]).sum())  # noqa: E731
    assert rank(after, neighbour) < rank(before, neighbour)
    picks = _recommend(catalog, ratings=ratings, limit=20)
    reasons = [reason for pick in picks for reason in pick.reasons]
    assert any(
        reason.startswith(f"like '{catalog.titles[liked]}'") and reason.endswith("which you rated 5")
        for reason in reasons
    )


def test_the_learned_model_predicts_for_the_unrated_candidates_too(catalog):
    # The mood map hands the engine its candidates as `rows`: the model must score those, not only the rated songs.
    genre = catalog.genre_codes[0]
    same_genre = np.flatnonzero(catalog.genre_codes == genre)
    rated, unrated = same_genre[:3], same_genre[3:]
    ratings = UserRatings.from_triples(catalog, [(int(catalog.song_ids[row]), 5, "sad") for row in rated])
    candidates = np.concatenate([rated, unrated, np.flatnonzero(catalog.genre_codes != genre)[:50]])

    everywhere, _ = engine.personal_linear(catalog, ratings, emotion="sad")
    on_candidates, _ = engine.personal_linear(catalog, ratings, emotion="sad", rows=candidates)

    assert len(unrated) > 0
    np.testing.assert_allclose(on_candidates[candidates], everywhere[candidates], atol=1e-6)
    assert np.all(on_candidates[unrated] != 0)
    outside = np.setdiff1d(np.arange(catalog.size), candidates)
    assert np.all(on_candidates[outside] == 0)


def test_low_ratings_exclude_a_song_only_in_their_context(catalog):
    top = _rows(_recommend(catalog))[0]
    ratings = UserRatings.from_triples(catalog, [(int(catalog.song_ids[top]), 1, "sad")])

    assert top not in _rows(_recommend(catalog, ratings=ratings, limit=50))
    assert list(engine.excluded_rows(ratings, emotion="sad")) == [top]
    assert list(engine.excluded_rows(ratings, emotion="fear")) == []
    # Rated without a context: excluded everywhere.
    anywhere = UserRatings.from_triples(catalog, [(int(catalog.song_ids[top]), 2, "")])
    assert list(engine.excluded_rows(anywhere, emotion="fear")) == [top]


def test_at_most_two_songs_per_artist_and_no_repeats(rows):
    # One artist owns the 30 sad-most songs: the cap still lets only two of them in.
    catalog = build_catalog(rows)
    sad_most = np.argsort(-engine.content_scores(catalog, SAD)[0])[:30]
    prolific = [
        replace(row, artist="The Same Band") if index in set(sad_most) else row for index, row in enumerate(rows)
    ]
    catalog = build_catalog(prolific)

    for limit in (10, 50):
        picks = _recommend(catalog, limit=limit)
        artists = Counter(catalog.artists[catalog.artist_codes[pick.row]] for pick in picks)
        assert artists["The Same Band"] <= 2
        assert max(artists.values()) <= 2
        assert len(set(_rows(picks))) == len(picks) == limit


def test_the_same_title_by_the_same_artist_is_listed_once(rows):
    twin = replace(rows[0], song_id=10_000)
    catalog = build_catalog([*rows, twin])
    target = catalog.features[0]
    # Aim straight at the duplicated song.
    weights = {99: 1.0}
    catalog = replace(
        catalog, mood_ids=[*catalog.mood_ids, 99], mood_profiles=np.vstack([catalog.mood_profiles, target[None, :]])
    )

    picks = _recommend(catalog, weights=weights, limit=10, seed=0)

    rows_picked = _rows(picks)
    assert not {0, len(rows)} <= set(rows_picked)


def test_exploration_takes_a_fifth_of_the_list_from_unrated_songs(catalog):
    shown = _rows(_recommend(catalog, limit=20))
    ratings = UserRatings.from_triples(catalog, [(int(catalog.song_ids[row]), 5, "sad") for row in shown])

    picks = _recommend(catalog, ratings=ratings, limit=10)

    explored = [pick for pick in picks if pick.explore]
    assert len(explored) == 2
    assert not {pick.row for pick in explored} & set(shown)
    assert all("something new for you" in pick.reasons[-1] for pick in explored)
    assert [index for index, pick in enumerate(picks) if pick.explore] == [4, 9]


def test_exploration_is_stable_for_one_seed_and_changes_with_another(catalog):
    ratings = UserRatings.from_triples(catalog, [(int(catalog.song_ids[5]), 4, "sad")])

    first = _rows(_recommend(catalog, ratings=ratings, seed=3))

    assert _rows(_recommend(catalog, ratings=ratings, seed=3)) == first
    assert any(_rows(_recommend(catalog, ratings=ratings, seed=seed)) != first for seed in range(4, 10))


def test_probabilities_mix_the_target_profiles(catalog):
    valence = engine.FEATURES.index("valence")
    happy, sad = engine.target_profile(catalog, {1: 1.0}), engine.target_profile(catalog, {2: 1.0})

    mixed = engine.target_profile(catalog, {1: 0.5, 2: 0.5})

    assert mixed[valence] == pytest.approx((happy[valence] + sad[valence]) / 2, abs=1e-5)


def test_blend_leans_on_ratings_as_they_accumulate():
    weights = [engine.blend_weight(count) for count in (0, 1, 10, 40, 1000)]

    assert weights[0] == 0
    assert weights == sorted(weights)
    assert weights[-1] <= engine.BLEND_MAX


def test_every_pick_has_one_to_three_reasons(catalog):
    ratings = UserRatings.from_triples(
        catalog, [(int(catalog.song_ids[row]), 1 + row % 5, "sad") for row in range(0, 300, 10)]
    )

    for picks in (_recommend(catalog, limit=50), _recommend(catalog, ratings=ratings, limit=50)):
        assert all(1 <= len(pick.reasons) <= 3 for pick in picks)
        assert all(isinstance(reason, str) and reason for pick in picks for reason in pick.reasons)


def test_limits_and_an_empty_catalog():
    empty = build_catalog([])

    assert _recommend(empty, limit=10, seed=0) == []


def test_why_this_speaks_plainly(catalog):
    picks = _recommend(catalog, limit=20)
    mood_reasons = [pick.reasons[0] for pick in picks if pick.reasons[0].startswith("Sad: ")]
    assert mood_reasons, [pick.reasons for pick in picks]
    plain = {word for words in engine.FEATURE_WORDS.values() for word in words}
    for reason in mood_reasons:
        words = reason.removeprefix("Sad: ").split(", ")
        assert 1 <= len(words) <= 3 and set(words) <= plain
    jargon = ("acousticness", "valence", "high energy", "low energy", "tempo")
    assert not [reason for pick in picks for reason in pick.reasons if any(word in reason for word in jargon)]


def test_rated_songs_take_at_most_three_places_unless_favourites_are_asked_for(catalog):
    top = _rows(_recommend(catalog, limit=10))
    ratings = UserRatings.from_triples(catalog, [(int(catalog.song_ids[row]), 5, "sad") for row in top])

    capped = _rows(_recommend(catalog, ratings=ratings, limit=10))
    favourites = _rows(_recommend(catalog, ratings=ratings, limit=10, favourites=True))

    assert len(capped) == 10 and len(set(capped) & set(top)) == 3
    assert len(favourites) == 10 and len(set(favourites) & set(top)) >= 7
