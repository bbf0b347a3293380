"""EmoMusic's machine-learning package, in two parts that depend one way.

- `ml.runtime`: what the Celery worker runs (face detection and alignment, preprocessing, the classifier).
  It needs NumPy, OpenCV and LiteRT, never TensorFlow or Keras.
- `ml.training`: the bench that makes the shipped model (data, models, training, distillation, evaluation,
  shipping, reports). It imports Keras, and may import `ml.runtime`; the runtime never imports it
  (import-linter's contract in pyproject.toml).

It never imports Django, and `import ml` stays cheap.
"""

from ml.runtime.labels import LABELS

__all__ = ["LABELS"]
