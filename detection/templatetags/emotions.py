"""`{{ emotion|emotion_word }}`: the word people say for one of the model's labels ("fear" -> "scared")."""

from django import template

from detection.models import EMOTION_WORDS

register = template.Library()


@register.filter
def emotion_word(label: str) -> str:
    return EMOTION_WORDS.get(label, label)
