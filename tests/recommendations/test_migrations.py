"""Migration 0004 carries the admins' emotion x strategy table over to the mood map's places and moves."""

from importlib import import_module

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from recommendations.mood_map import DEFAULT_MOVES, DEFAULT_PLACES

BEFORE = [("recommendations", "0003_ratings_outlive_detections")]
CARRIED = [("recommendations", "0004_mood_map")]


@pytest.fixture
def old_rules(transactional_db):
    """The database as it was before the map: the rules table, seeded with the defaults by 0002."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old_apps = executor.loader.project_state(BEFORE).apps
    # A transactional test empties the tables at its end: seed the rules as 0002 does on a fresh database.
    if not old_apps.get_model("recommendations", "EmotionMoodRule").objects.exists():
        import_module("recommendations.migrations.0002_default_rules").seed_rules(old_apps, None)
    yield old_apps
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def _carry_over():
    executor = MigrationExecutor(connection)
    executor.migrate(CARRIED)
    new_apps = executor.loader.project_state(CARRIED).apps
    places = {
        emotion: (valence, energy)
        for emotion, valence, energy in new_apps.get_model("recommendations", "EmotionPlace").objects.values_list(
            "emotion", "valence", "energy"
        )
    }
    moves = dict(new_apps.get_model("recommendations", "StrategyMove").objects.values_list("strategy", "amount"))
    return places, moves


def test_the_default_rules_become_the_default_places_and_moves(old_rules):
    places, moves = _carry_over()

    assert places == {emotion: (place.valence, place.energy) for emotion, place in DEFAULT_PLACES.items()}
    assert moves == DEFAULT_MOVES


def test_an_admins_match_rule_places_the_emotion_in_that_mood(old_rules):
    Rule = old_rules.get_model("recommendations", "EmotionMoodRule")
    Mood = old_rules.get_model("catalog", "Mood")
    Rule.objects.filter(strategy="match", emotion="neutral").update(mood=Mood.objects.get(name="Happy"))
    Rule.objects.filter(strategy="match", emotion="sad").update(mood=Mood.objects.create(name="Melancholic"))

    places, _ = _carry_over()

    assert places["neutral"] == (0.579, 0.752)  # Happy's centre in the bundled catalog
    assert places["sad"] == (DEFAULT_PLACES["sad"].valence, DEFAULT_PLACES["sad"].energy)  # no centre: kept
    assert places["happy"] == (DEFAULT_PLACES["happy"].valence, DEFAULT_PLACES["happy"].energy)


def test_a_strategy_set_up_to_stay_gets_no_move(old_rules):
    Rule = old_rules.get_model("recommendations", "EmotionMoodRule")
    for rule in Rule.objects.filter(strategy="match"):
        Rule.objects.filter(strategy="calm", emotion=rule.emotion).update(mood=rule.mood)

    _, moves = _carry_over()

    assert moves == {"match": 0.0, "uplift": DEFAULT_MOVES["uplift"], "calm": 0.0}
