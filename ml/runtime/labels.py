# FER-2013's seven classes, in the order of the API contract and of the
# model's output units.
LABELS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
