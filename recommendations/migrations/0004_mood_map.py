"""The mood map's tables (where each emotion sits, how far each strategy moves a reading), and the carry-over
of the admins' emotion x strategy table (EmotionMoodRule) to them.

What it keeps:
* Each emotion's place follows its "match" rule, the rule that says where the emotion itself belongs.
  An emotion whose match rule is still the default gets the default place (Russell 1980, see
  recommendations.mood_map). One an admin sent to another of the four default moods (Happy, Sad, Calm,
  Energetic) is placed at that mood's centre in the bundled catalog, so that "match" keeps naming the
  mood the admin chose there.
* A strategy whose every rule is the same as the match rule for the same emotion was set up to stay:
  its move is 0. Any other strategy gets the default move (lift 0.5, calm 0.75).

What it cannot keep:
* A match rule naming a mood the admins created themselves: such a mood has no labelled songs in the
  bundled catalog, hence no known centre; the emotion keeps its default place.
* The per-emotion choices of "uplift" and "calm": a strategy is now one move in one direction (lift
  toward positive valence, calm toward low energy) for every reading, and the mood is the region the
  moved point lands in, so "uplift sends angry to Calm but sad to Happy" has no equivalent.
* The rows themselves: this migration removes the EmotionMoodRule table.
"""

import django.core.validators
from django.db import migrations, models

# The values of recommendations.mood_map when this migration was written, frozen here so that
# a later change of the defaults does not change what this migration does.
DEFAULT_PLACES = {
    "angry": (0.445, 0.846),
    "disgust": (0.197, 0.675),
    "fear": (0.345, 0.814),
    "happy": (0.847, 0.548),
    "neutral": (0.5, 0.5),
    "sad": (0.19, 0.338),
    "surprise": (0.621, 0.828),
}
DEFAULT_MOVES = {"match": 0.0, "uplift": 0.5, "calm": 0.75}
# The default match rules (recommendations.defaults.DEFAULT_RULES["match"]).
DEFAULT_MATCH = {
    "angry": "energetic",
    "disgust": "energetic",
    "fear": "sad",
    "happy": "happy",
    "sad": "sad",
    "surprise": "energetic",
    "neutral": "calm",
}
# Each default mood's centre in the bundled catalog: the mean valence and energy of its labelled songs.
MOOD_CENTRES = {
    "happy": (0.579, 0.752),
    "sad": (0.289, 0.388),
    "calm": (0.151, 0.156),
    "energetic": (0.437, 0.884),
}


def carry_over(apps, schema_editor):
    EmotionMoodRule = apps.get_model("recommendations", "EmotionMoodRule")
    EmotionPlace = apps.get_model("recommendations", "EmotionPlace")
    StrategyMove = apps.get_model("recommendations", "StrategyMove")
    rules: dict[str, dict[str, str]] = {}
    for strategy, emotion, mood_name in EmotionMoodRule.objects.values_list("strategy", "emotion", "mood__name"):
        rules.setdefault(strategy, {})[emotion] = mood_name.lower()
    match = rules.get("match", {})
    for emotion, default in DEFAULT_PLACES.items():
        chosen = match.get(emotion)
        place = default
        if chosen is not None and chosen != DEFAULT_MATCH[emotion] and chosen in MOOD_CENTRES:
            place = MOOD_CENTRES[chosen]
        EmotionPlace.objects.get_or_create(emotion=emotion, defaults={"valence": place[0], "energy": place[1]})
    for strategy, default in DEFAULT_MOVES.items():
        own = rules.get(strategy, {})
        stays = strategy == "match" or (bool(own) and bool(match) and own == match)
        StrategyMove.objects.get_or_create(strategy=strategy, defaults={"amount": 0.0 if stays else default})



def unit_interval(*, help_text, message):
    """A share from 0 to 1 on the mood map, with the message both of its bounds give."""
    return models.FloatField(
        help_text=help_text,
        validators=[
            django.core.validators.MinValueValidator(0.0, message=message),
            django.core.validators.MaxValueValidator(1.0, message=message),
        ],
    )


ON_THE_MAP = "Points on the mood map run from 0 to 1."


def keyed_table(name, *, key, choices, values, constraint):
    """A table holding one row per choice of `key`, with its `values`."""
    return migrations.CreateModel(
        name=name,
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            (key, models.CharField(choices=choices, max_length=10, unique=True)),
            *values,
        ],
        options={"ordering": [key], "constraints": [constraint]},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0003_ratings_outlive_detections"),
    ]

    operations = [
        keyed_table(
            "EmotionPlace",
            key="emotion",
            choices=[("angry", "Angry"), ("disgust", "Disgusted"), ("fear", "Scared"), ("happy", "Happy"), ("sad", "Sad"), ("surprise", "Surprised"), ("neutral", "Neutral")],
            values=[
                ("valence", unit_interval(help_text="0 (sad) to 1 (happy).", message=ON_THE_MAP)),
                ("energy", unit_interval(help_text="0 (calm) to 1 (energetic).", message=ON_THE_MAP)),
            ],
            constraint=models.CheckConstraint(
                condition=models.Q(("energy__gte", 0), ("energy__lte", 1), ("valence__gte", 0), ("valence__lte", 1)),
                name="emotion_place_on_the_map",
            ),
        ),
        keyed_table(
            "StrategyMove",
            key="strategy",
            choices=[("match", "Match my mood"), ("uplift", "Lift my mood"), ("calm", "Calm me down")],
            values=[
                (
                    "amount",
                    unit_interval(
                        help_text="0 stays; 1 crosses the whole map.",
                        message="A move runs from 0 (stay) to 1 (across the whole map).",
                    ),
                ),
            ],
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gte", 0), ("amount__lte", 1)), name="strategy_move_range"
            ),
        ),
        migrations.RunPython(carry_over, migrations.RunPython.noop),
        migrations.DeleteModel(name="EmotionMoodRule"),
    ]
