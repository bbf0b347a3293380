"""EmoMusic's machine-learning package: data, models, training, inference.

It never imports Django, and importing it stays cheap: TensorFlow and Keras are
imported inside the modules that need them, so the web process can read
`ml.LABELS` and the model card without loading them.
"""

from ml.labels import LABELS

__all__ = ["LABELS"]
