"""The emotion classifier the worker calls.

    from ml.runtime.inference import EmotionClassifier
    classifier = EmotionClassifier.load()          # the shipped model, once per process
    probabilities = classifier.predict(faces)      # (N, 7), columns in ml.LABELS order

The shipped model runs on LiteRT (`ai-edge-litert`, the runtime the face detector already uses):
`ml.training.ship` exports the `.keras` file it measured to `emotion_model.tflite` beside it, and the
model card names that file. So the worker never imports TensorFlow or Keras. The training bench reads a
run's own `.keras` file through the same class: `EmotionClassifier(ml.training.models.load_model(path), ...)`.
What the classifier returns is the net's reading, averaged over the card's test-time views: nothing fitted
to any one set of photos is added to it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from ml.runtime.labels import LABELS
from ml.runtime.preprocessing import TTA_MODES, preprocess_faces, tta_views

ARTIFACTS_DIR = Path(__file__).resolve().parents[1] / "artifacts"
DEFAULT_MODEL = ARTIFACTS_DIR / "emotion_model.keras"
MODEL_CARD = "model_card.json"
# Batches (faces times TTA views) are padded up to one of these sizes so the
# compiled predict function is traced a handful of times, not once per new length.
# 2, 6 and 10 are one face's views with flip, vshift and tencrop.
BATCH_BUCKETS = (1, 2, 6, 10, 32, 64)
# Faces read together: their views go to the net in full buckets of 64, whichever face they belong to.
FACES_PER_PASS = 64
# The worker reads one photo at a time; two threads use a small machine's cores without starving the web.
LITERT_THREADS = 2


def read_model_card(model_path: str | Path | None = None) -> dict:
    """The model card beside a model (ml/artifacts/model_card.json for the shipped one); {} if none.

    Reading it imports no Keras, so the web process can show the model's version.
    """
    path = Path(model_path) if model_path is not None else DEFAULT_MODEL
    card_path = path.with_name(MODEL_CARD)
    if not card_path.is_file():
        return {}
    card = json.loads(card_path.read_text())
    if card.get("file") not in (None, path.name):
        return {}
    return card


class Predictor(Protocol):
    """What the classifier reads faces with: a LiteRT export here, a Keras model in the training bench."""

    output_shape: tuple

    def predict_on_batch(self, batch: np.ndarray) -> np.ndarray: ...


class EmotionClassifier:
    """A loaded emotion model: `predict(faces)` gives probabilities in `ml.LABELS` order."""

    def __init__(self, model: Predictor, version: str, *, tta: str = "flip"):
        if tta not in TTA_MODES:
            raise ValueError(f"Unknown TTA mode {tta!r}; choose one of {', '.join(TTA_MODES)}.")
        self.model = model
        self.version = version
        self.tta = tta
        self.labels = LABELS

    @classmethod
    def load(cls, path: str | Path | None = None, *, tta: str | None = None) -> EmotionClassifier:
        """Load a shipped model's LiteRT export (None: the site's own), as its card says, and warm it up.

        `path` is the `.keras` file the card describes; the card names its LiteRT export (`litert_file`) and
        the test-time augmentation averaged per face (`tta`: "plain"; "flip", with its mirror image;
        "vshift", the face and the face moved 2 pixels up and down, with their mirrors; "tencrop"), chosen on
        validation data when the model shipped. `tta` overrides the card's.
        """
        model_path = Path(path) if path is not None else DEFAULT_MODEL
        card = read_model_card(model_path)
        if not card.get("litert_file"):
            raise FileNotFoundError(
                f"No shipped emotion model at {model_path}: no model card naming a LiteRT export beside it "
                "(ship one with `python -m ml.training.ship`)."
            )
        litert = model_path.with_name(card["litert_file"])
        if not litert.is_file():
            raise FileNotFoundError(f"{model_path.name}'s card names {litert.name}, which is not beside it.")
        model = LiteRTModel(litert)
        if model.output_shape[-1] != len(LABELS):
            raise ValueError(f"{litert} predicts {model.output_shape[-1]} classes, not the {len(LABELS)} emotions.")
        classifier = cls(model, card.get("version") or model_path.stem, tta=tta or card.get("tta", "flip"))
        # Trace the predict function now, so the first request does not pay for it.
        classifier.predict(np.zeros((1, 48, 48), dtype=np.uint8))
        return classifier

    def predict(self, faces: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Probabilities (N, 7) for uint8 grayscale faces: an (N, H, W) array or a list of faces of any size."""
        batch = preprocess_faces(faces)
        if len(batch) == 0:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        parts = [
            self._predict_views(batch[start : start + FACES_PER_PASS]) for start in range(0, len(batch), FACES_PER_PASS)
        ]
        return np.concatenate(parts)

    def _predict_views(self, batch: np.ndarray) -> np.ndarray:
        """The faces' probabilities averaged over their TTA views, the views read in buckets as full as they go.

        Splitting by view, not by face, wastes no pass on padding where a
        face's views do not divide a bucket: 32 faces with six views each are
        three full batches of 64, not four of which the last is half padding.
        """
        views = tta_views(batch, self.tta)
        stacked = np.concatenate(views)
        largest = BATCH_BUCKETS[-1]
        probabilities = np.concatenate(
            [self._predict_padded(stacked[start : start + largest]) for start in range(0, len(stacked), largest)]
        )
        probabilities = probabilities.reshape(len(views), len(batch), -1).mean(axis=0)
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    def _predict_padded(self, stacked: np.ndarray) -> np.ndarray:
        count = len(stacked)
        size = next(bucket for bucket in BATCH_BUCKETS if bucket >= count)
        if size > count:
            stacked = np.concatenate([stacked, np.zeros((size - count, *stacked.shape[1:]), stacked.dtype)])
        return np.asarray(self.model.predict_on_batch(stacked), dtype=np.float32)[:count]


class LiteRTModel:
    """A LiteRT export of an emotion net, with Keras's `predict_on_batch` and `output_shape`.

    One interpreter per batch size met (the classifier pads batches to
    BATCH_BUCKETS' sizes), each allocated once.
    """

    def __init__(self, path: str | Path, threads: int = LITERT_THREADS):
        self.path = Path(path)
        self.threads = threads
        self._interpreters: dict[int, object] = {}
        output = self._interpreter(1).get_output_details()[0]
        self.output_shape = (None, int(output["shape"][-1]))

    def _interpreter(self, size: int):
        if size not in self._interpreters:
            from ai_edge_litert.interpreter import Interpreter

            interpreter = Interpreter(model_path=str(self.path), num_threads=self.threads)
            detail = interpreter.get_input_details()[0]
            interpreter.resize_tensor_input(detail["index"], [size, *detail["shape"][1:]])
            interpreter.allocate_tensors()
            self._interpreters[size] = interpreter
        return self._interpreters[size]

    def predict_on_batch(self, batch: np.ndarray) -> np.ndarray:
        interpreter = self._interpreter(len(batch))
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], np.ascontiguousarray(batch, np.float32))
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy()
