"""The emotion-to-mood rules a new installation starts with.

Admins edit the EmotionMoodRule table afterwards; this table only seeds it
(see the 0002 data migration) and documents the defaults in one place.
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
