from django.db import migrations

from recommendations.defaults import DEFAULT_MOODS, DEFAULT_RULES


def seed_rules(apps, schema_editor):
    Mood = apps.get_model("catalog", "Mood")
    EmotionMoodRule = apps.get_model("recommendations", "EmotionMoodRule")
    moods = {}
    for name, description in DEFAULT_MOODS.items():
        # Mood names are unique whatever their case; an existing "happy" is reused.
        mood = Mood.objects.filter(name__iexact=name).first()
        moods[name] = mood or Mood.objects.create(name=name, description=description)
    for strategy, rules in DEFAULT_RULES.items():
        for emotion, mood_name in rules.items():
            # An admin's earlier edit wins over the default.
            EmotionMoodRule.objects.get_or_create(
                strategy=strategy, emotion=emotion, defaults={"mood": moods[mood_name]}
            )


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0001_initial"),
        ("catalog", "0001_initial"),
    ]

    operations = [migrations.RunPython(seed_rules, migrations.RunPython.noop)]
