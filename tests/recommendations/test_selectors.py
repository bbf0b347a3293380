import pytest

from catalog.models import Mood
from recommendations.models import EmotionPlace, StrategyMove
from recommendations.mood_map import DEFAULT_MOVES, DEFAULT_PLACES, MapPoint
from recommendations.selectors import mood_mix_for, mood_mix_in_words

pytestmark = pytest.mark.django_db


def test_the_map_starts_with_the_default_places_and_moves():
    places = {place.emotion: (place.valence, place.energy) for place in EmotionPlace.objects.all()}
    moves = dict(StrategyMove.objects.values_list("strategy", "amount"))

    assert set(places) == set(DEFAULT_PLACES)
    for emotion, place in DEFAULT_PLACES.items():
        assert places[emotion] == pytest.approx((place.valence, place.energy), abs=1e-3)
    assert moves == pytest.approx(DEFAULT_MOVES)


@pytest.mark.parametrize(
    ("strategy", "emotion", "expected"),
    [
        ("match", "sad", "Sad"),
        ("match", "happy", "Happy"),
        ("match", "angry", "Energetic"),
        ("uplift", "sad", "Happy"),
        ("uplift", "angry", "Happy"),
        ("calm", "angry", "Calm"),
        ("calm", "happy", "Calm"),
    ],
)
def test_each_strategy_names_the_region_of_its_target(seed_songs, strategy, emotion, expected):
    mix = mood_mix_for(emotion=emotion, strategy=strategy)

    assert mix.mood.name == expected
    assert mix.point == DEFAULT_PLACES[emotion]


def test_match_stays_lift_raises_valence_calm_lowers_energy(seed_songs):
    match = mood_mix_for(emotion="neutral", strategy="match")
    uplift = mood_mix_for(emotion="neutral", strategy="uplift")
    calm = mood_mix_for(emotion="neutral", strategy="calm")

    assert match.target == match.point == MapPoint(0.5, 0.5)
    assert uplift.target.valence > 0.9 and uplift.target.energy > 0.5
    assert calm.target.energy < 0.1 and calm.target.valence < 0.5


def test_an_admin_moving_a_place_changes_the_mood(seed_songs):
    EmotionPlace.objects.filter(emotion="sad").update(valence=0.1, energy=0.1)

    mix = mood_mix_for(emotion="sad", strategy="match")

    assert mix.point == MapPoint(0.1, 0.1)
    assert mix.mood.name == "Calm"


def test_an_admin_setting_a_move_changes_the_target(seed_songs):
    StrategyMove.objects.filter(strategy="uplift").update(amount=0.0)

    mix = mood_mix_for(emotion="sad", strategy="uplift")

    assert mix.target == mix.point
    assert mix.mood.name == "Sad"


def test_a_deleted_place_or_move_falls_back_to_the_default(seed_songs):
    EmotionPlace.objects.filter(emotion="sad").delete()
    StrategyMove.objects.filter(strategy="uplift").delete()

    assert mood_mix_for(emotion="sad", strategy="match").point == DEFAULT_PLACES["sad"]
    assert mood_mix_for(emotion="sad", strategy="uplift").mood.name == "Happy"


def test_before_the_songs_are_loaded_the_default_moods_stand_at_their_usual_centres():
    assert mood_mix_for(emotion="sad", strategy="match").mood.name == "Sad"
    assert mood_mix_for(emotion="angry", strategy="calm").mood.name == "Calm"


def test_no_mood_without_moods_but_the_point_is_known():
    Mood.objects.all().delete()

    mix = mood_mix_for(emotion="sad", strategy="match")

    assert mix.mood is None
    assert mix.point == DEFAULT_PLACES["sad"]


def test_unknown_emotion_or_strategy_has_no_mood(seed_songs):
    assert mood_mix_for(emotion="bored", strategy="match").mood is None
    assert mood_mix_for(emotion="sad", strategy="party").mood is None
    assert mood_mix_for(emotion="sad", strategy="party").target is None


def test_the_point_is_the_probability_weighted_mean_of_the_places(seed_songs):
    probabilities = {"angry": 0.3, "disgust": 0, "fear": 0.3, "happy": 0, "sad": 0.4, "surprise": 0, "neutral": 0}

    mix = mood_mix_for(emotion="sad", strategy="match", probabilities=probabilities)

    places = DEFAULT_PLACES
    expected_valence = 0.3 * places["angry"].valence + 0.3 * places["fear"].valence + 0.4 * places["sad"].valence
    expected_energy = 0.3 * places["angry"].energy + 0.3 * places["fear"].energy + 0.4 * places["sad"].energy
    assert mix.point.valence == pytest.approx(expected_valence)
    assert mix.point.energy == pytest.approx(expected_energy)
    assert mood_mix_in_words(mix=mix) == f"Sad 40%, angry 30% and scared 30% together → {mix.mood.name} songs."


def test_a_corrected_emotion_ignores_the_probabilities(seed_songs):
    # The model said angry; the user corrected it to happy: the correction decides.
    mix = mood_mix_for(emotion="happy", strategy="match", probabilities={"angry": 0.9, "happy": 0.1})

    assert mix.point == DEFAULT_PLACES["happy"]
    assert mix.mood.name == "Happy"
    assert mood_mix_in_words(mix=mix) == ""


def test_malformed_probabilities_fall_back_to_the_emotions_place(seed_songs):
    mix = mood_mix_for(emotion="sad", strategy="match", probabilities={"sad": "lots", "fear": -3})

    assert mix.point == DEFAULT_PLACES["sad"]
    assert mix.mood.name == "Sad"
