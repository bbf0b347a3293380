"""The emotion classifier the worker calls.

    from ml.inference import EmotionClassifier
    classifier = EmotionClassifier.load()          # the shipped model, once per process
    probabilities = classifier.predict(faces)      # (N, 7), columns in ml.LABELS order

Where the model card holds `photo_offsets` (`ml.photo_offsets`: per-emotion
corrections from the net's FER-2013 habits to real photos), `predict`
applies them; `load(..., photo_offsets=False)` reads with the net alone.

The shipped model runs on LiteRT (`ai-edge-litert`, the runtime the face
detector already uses): `ml.ship` exports the `.keras` file it measured to
`emotion_model.tflite` beside it, and the model card names that file. So the
worker never imports TensorFlow, which alone took 693 MB of its memory. A
model without such an export (a run's own `.keras` file) loads with Keras,
imported here and never by `import ml`: only the worker and the ml commands
load this module.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ml.labels import LABELS
from ml.photo_offsets import offsets_apply
from ml.preprocessing import TTA_MODES, preprocess_faces, tta_views

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
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


class EmotionClassifier:
    """A loaded emotion model: `predict(faces)` gives probabilities in `ml.LABELS` order."""

    def __init__(self, model, version: str, *, tta: str = "flip", photo_offsets: np.ndarray | None = None):
        if tta not in TTA_MODES:
            raise ValueError(f"Unknown TTA mode {tta!r}; choose one of {', '.join(TTA_MODES)}.")
        if photo_offsets is not None and np.shape(photo_offsets) != (len(LABELS),):
            raise ValueError(f"photo_offsets must hold one number per emotion ({len(LABELS)}).")
        self.model = model
        self.version = version
        self.tta = tta
        self.photo_offsets = photo_offsets
        self.labels = LABELS

    @classmethod
    def load(
        cls, path: str | Path | None = None, *, tta: str | None = None, photo_offsets: bool = True
    ) -> EmotionClassifier:
        """Load a `.keras` model (None: the shipped one), on LiteRT when its card names an export, and warm it up.

        `tta` is the test-time augmentation averaged per face ("plain",
        "flip": with its mirror image, "tencrop": five shifted crops and their
        mirrors, "vshift": the face and the face moved 2 pixels up and
        down, and their mirrors); by default the model card decides, as chosen (on the
        validation split) when the model was shipped. `photo_offsets` applies
        the card's real-photo offsets, when it has them.
        """
        model_path = Path(path) if path is not None else DEFAULT_MODEL
        if not model_path.is_file():
            raise FileNotFoundError(f"No emotion model at {model_path}; train one with `python -m ml.train`.")
        card = read_model_card(model_path)
        if card.get("litert_file"):
            litert = model_path.with_name(card["litert_file"])
            if not litert.is_file():
                raise FileNotFoundError(f"{model_path.name}'s card names {litert.name}, which is not beside it.")
            model = LiteRTModel(litert)
        else:
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
            from ml.models import load_model

            model = load_model(model_path)
        if model.output_shape[-1] != len(LABELS):
            raise ValueError(f"{model_path} predicts {model.output_shape[-1]} classes, not the {len(LABELS)} emotions.")
        if tta is None:
            tta = card_tta(card)
        offsets = card_photo_offsets(card) if photo_offsets else None
        classifier = cls(model, card.get("version") or model_path.stem, tta=tta, photo_offsets=offsets)
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
        return offsets_apply(np.concatenate(parts), self.photo_offsets)

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


def card_photo_offsets(card: dict) -> np.ndarray | None:
    """The card's real-photo offsets in LABELS order, or None when it has none."""
    offsets = card.get("photo_offsets")
    if not offsets:
        return None
    missing = [label for label in LABELS if label not in offsets]
    if missing:
        raise ValueError(f"The model card's photo_offsets lack {', '.join(missing)}.")
    return np.asarray([float(offsets[label]) for label in LABELS])


def card_tta(card: dict) -> str:
    """The TTA mode a model card prescribes: `tta` in a flat card; older cards nest it or say only whether to flip."""
    if card.get("tta") in TTA_MODES:
        return card["tta"]
    inference = card.get("inference", {})
    if inference.get("tta") in TTA_MODES:
        return inference["tta"]
    return "flip" if inference.get("flip_tta", True) else "plain"
