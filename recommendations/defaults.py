"""The moods a new installation starts with, and the emotion-to-mood rules of the 0002 migration.

The rules were the admins' table before the mood map; migration 0005 carries
them over to the map's places and moves (recommendations.mood_map has the
map's defaults).
"""

DEFAULT_MOODS: dict[str, str] = {
    "Happy": "Bright, positive songs: high valence.",
    "Sad": "Slow, low-valence songs for a heavy heart.",
    "Calm": "Quiet, acoustic, low-energy songs.",
    "Energetic": "Loud, fast, high-energy songs.",
}

# strategy -> emotion -> mood name
DEFAULT_RULES: dict[str, dict[str, str]] = {
    # Mirror what the user feels.
    "match": {
        "angry": "Energetic",
        "disgust": "Energetic",
        "fear": "Sad",
        "happy": "Happy",
        "sad": "Sad",
        "surprise": "Energetic",
        "neutral": "Calm",
    },
    # Move the user towards a better mood: soothe the agitated emotions,
    # brighten the low ones, keep a good mood going.
    "uplift": {
        "angry": "Calm",
        "disgust": "Happy",
        "fear": "Calm",
        "happy": "Happy",
        "sad": "Happy",
        "surprise": "Happy",
        "neutral": "Happy",
    },
    # Bring every emotion down to rest.
    "calm": {
        "angry": "Calm",
        "disgust": "Calm",
        "fear": "Calm",
        "happy": "Calm",
        "sad": "Calm",
        "surprise": "Calm",
        "neutral": "Calm",
    },
}
