import pytest

from catalog.models import Mood
from recommendations.defaults import DEFAULT_RULES
from recommendations.models import EmotionMoodRule
from recommendations.selectors import mood_for

pytestmark = pytest.mark.django_db


def test_defaults_cover_every_strategy_and_emotion():
    assert EmotionMoodRule.objects.count() == 21
    assert set(Mood.objects.values_list("name", flat=True)) >= {"Happy", "Sad", "Calm", "Energetic"}
    for strategy, rules in DEFAULT_RULES.items():
        for emotion, mood_name in rules.items():
            assert EmotionMoodRule.objects.get(strategy=strategy, emotion=emotion).mood.name == mood_name


@pytest.mark.parametrize(
    ("strategy", "emotion", "expected"),
    [
        ("match", "sad", "Sad"),
        ("match", "happy", "Happy"),
        ("match", "angry", "Energetic"),
        ("uplift", "sad", "Happy"),
        ("uplift", "angry", "Calm"),
        ("uplift", "fear", "Calm"),
        ("calm", "angry", "Calm"),
        ("calm", "happy", "Calm"),
    ],
)
def test_each_strategy_picks_its_mood(strategy, emotion, expected):
    assert mood_for(emotion=emotion, strategy=strategy).name == expected


def test_an_admin_edit_changes_the_pick():
    rule = EmotionMoodRule.objects.get(strategy="match", emotion="sad")
    rule.mood = Mood.objects.create(name="Melancholic")
    rule.save()

    assert mood_for(emotion="sad", strategy="match").name == "Melancholic"


def test_a_deleted_rule_falls_back_to_the_default():
    EmotionMoodRule.objects.filter(strategy="uplift", emotion="sad").delete()

    assert mood_for(emotion="sad", strategy="uplift").name == "Happy"


def test_no_mood_when_neither_rule_nor_default_mood_exists():
    EmotionMoodRule.objects.filter(strategy="uplift", emotion="sad").delete()
    Mood.objects.filter(name="Happy").delete()

    assert mood_for(emotion="sad", strategy="uplift") is None


def test_unknown_emotion_or_strategy_has_no_mood():
    assert mood_for(emotion="bored", strategy="match") is None
    assert mood_for(emotion="sad", strategy="party") is None


def test_probabilities_vote_for_moods():
    # 0.4 sad votes Happy under uplift, but fear + angry (0.6) both vote Calm.
    probabilities = {"angry": 0.3, "disgust": 0, "fear": 0.3, "happy": 0, "sad": 0.4, "surprise": 0, "neutral": 0}

    assert mood_for(emotion="sad", strategy="uplift", probabilities=probabilities).name == "Calm"
    assert mood_for(emotion="sad", strategy="uplift").name == "Happy"


def test_a_corrected_emotion_ignores_the_probabilities():
    # The model said angry; the user corrected it to happy: the correction decides.
    probabilities = {"angry": 0.9, "happy": 0.1}

    assert mood_for(emotion="happy", strategy="match", probabilities=probabilities).name == "Happy"


def test_malformed_probabilities_fall_back_to_the_rule():
    assert mood_for(emotion="sad", strategy="match", probabilities={"sad": "lots", "fear": -3}).name == "Sad"
