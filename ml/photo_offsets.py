"""Per-emotion offsets that turn the FER-2013 net's readings towards real photos.

Nets trained on FER-2013's 48x48 web faces read real photos with a bias: a
person speaking or shouting in a press photo looks like FER-2013's angry
faces, so they over-read anger and under-read surprise and neutral faces.
Seven numbers, one log-offset per emotion added to the net's log
probabilities, correct most of that (a label-shift correction, the
bias-only form of Platt's recalibration):

    python -m ml.photo_offsets --data DIR            # fit and report (cross-validated by person)
    python -m ml.photo_offsets --data DIR --write --version NEW   # the same, then store them in the card

`DIR` holds photos and a `labels.csv` with `file,emotion` columns, and
optionally `person`; without it the person is the file's stem less a
trailing `_0001`-style number (LFW's naming). Every figure that says how
well the offsets carry over is measured on people the fit never saw:
folds are split by person, and the regularisation is chosen inside each
training fold (nested cross-validation).

Emotions with fewer than MIN_PHOTOS photos in the data cannot be fitted;
they keep the mean offset of the others, so a set without frightened faces
does not teach the site that nobody is ever frightened.

The worker's classifier (`ml.inference.EmotionClassifier`) applies the
offsets the card holds. FER-2013 figures (`make evaluate`, the card's
accuracies) are of the net alone.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.cli import portable
from ml.labels import LABELS

REGULARISATIONS = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1)
FOLDS = 5
REPEATS = 3
MIN_PHOTOS = 20
SEED = 2026
# The smallest probability taken to the log: a net's float16 export can round a share to 0.
PROBABILITY_FLOOR = 1e-6


@dataclass(frozen=True)
class Readings:
    """The net's probabilities for each labelled photo's main face (NaN rows: no face found)."""

    probabilities: np.ndarray  # (N, 7)
    labels: np.ndarray  # (N,) indices into LABELS
    people: np.ndarray  # (N,) who is in each photo, to split folds by person

    @property
    def found(self) -> np.ndarray:
        return ~np.isnan(self.probabilities[:, 0])


def offsets_apply(probabilities: np.ndarray, offsets: np.ndarray | None) -> np.ndarray:
    """Probabilities (N, 7) with log-offsets added, renormalised; unchanged when `offsets` is None."""
    if offsets is None:
        return probabilities
    logits = np.log(np.clip(probabilities, PROBABILITY_FLOOR, 1.0)) + np.asarray(offsets, dtype=np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    shifted = np.exp(logits)
    return (shifted / shifted.sum(axis=1, keepdims=True)).astype(probabilities.dtype)


def offsets_fit(readings: Readings, rows: np.ndarray, *, regularisation: float) -> np.ndarray:
    """Log-offsets (7,) maximising the likelihood of `rows`' labels, with an L2 penalty, mean zero."""
    from scipy.optimize import minimize

    rows = rows[readings.found[rows]]
    log_probabilities = np.log(np.clip(readings.probabilities[rows], PROBABILITY_FLOOR, 1.0))
    labels = readings.labels[rows]
    counts = np.bincount(labels, minlength=len(LABELS))
    fitted = np.flatnonzero(counts >= MIN_PHOTOS)
    if len(fitted) < 2:  # one emotion alone says nothing about how the net weighs emotions
        return np.zeros(len(LABELS))

    def expand(free: np.ndarray) -> np.ndarray:
        offsets = np.full(len(LABELS), free.mean())
        offsets[fitted] = free
        return offsets - offsets.mean()

    def loss(free: np.ndarray) -> float:
        offsets = expand(free)
        logits = log_probabilities + offsets
        logits = logits - logits.max(axis=1, keepdims=True)
        log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        return -log_softmax[np.arange(len(rows)), labels].mean() + regularisation * float(np.sum(offsets**2))

    result = minimize(loss, np.zeros(len(fitted)), method="L-BFGS-B")
    return expand(result.x)


def correct_count(readings: Readings, rows: np.ndarray, offsets: np.ndarray | None) -> int:
    """Photos in `rows` read right end to end (a photo with no face found is wrong)."""
    rows = rows[readings.found[rows]]
    predicted = np.argmax(offsets_apply(readings.probabilities[rows], offsets), axis=1)
    return int(np.sum(predicted == readings.labels[rows]))


def _person_folds(people: np.ndarray, seed: int) -> list[np.ndarray]:
    shuffled = np.random.default_rng(seed).permutation(np.unique(people))
    return [np.asarray(fold) for fold in np.array_split(shuffled, FOLDS)]


def cross_validated_accuracy(readings: Readings, rows: np.ndarray, *, regularisation: float, seed: int) -> float:
    """Accuracy over `rows` of offsets fitted on the other people, fold by fold."""
    correct = 0
    for fold in _person_folds(readings.people[rows], seed):
        held_out = np.isin(readings.people[rows], fold)
        offsets = offsets_fit(readings, rows[~held_out], regularisation=regularisation)
        correct += correct_count(readings, rows[held_out], offsets)
    return correct / len(rows)


def regularisation_choose(readings: Readings, rows: np.ndarray, *, seed: int = SEED) -> float:
    """The penalty whose offsets read unseen people best, over REPEATS shuffles of the folds."""

    def score(regularisation: float) -> float:
        return float(
            np.mean(
                [
                    cross_validated_accuracy(readings, rows, regularisation=regularisation, seed=seed + repeat)
                    for repeat in range(REPEATS)
                ]
            )
        )

    return max(REGULARISATIONS, key=score)


def nested_accuracy(readings: Readings, *, seed: int = SEED) -> float:
    """What fitting offsets (penalty chosen inside) gives people it never saw: outer folds by person."""
    rows = np.arange(len(readings.labels))
    correct = 0
    for fold in _person_folds(readings.people, seed):
        held_out = np.isin(readings.people, fold)
        regularisation = regularisation_choose(readings, rows[~held_out], seed=seed)
        offsets = offsets_fit(readings, rows[~held_out], regularisation=regularisation)
        correct += correct_count(readings, rows[held_out], offsets)
    return correct / len(rows)


def person_of(file: str) -> str:
    """LFW-style names: `angry/Kim_Clijsters_0001.jpg` shows Kim_Clijsters."""
    return re.sub(r"_\d+$", "", Path(file).stem)


def labelled_photos(data_dir: Path) -> list[dict]:
    with (data_dir / "labels.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    unknown = sorted({row["emotion"] for row in rows} - set(LABELS))
    if unknown:
        raise ValueError(f"labels.csv names emotions the model does not know: {', '.join(unknown)}")
    return rows


def readings_collect(data_dir: Path, classifier) -> Readings:
    """Each photo through the worker's face finder and `classifier` (without offsets): the main face's probabilities."""
    from PIL import Image, ImageOps

    from ml import faces

    probabilities, labels, people = [], [], []
    for row in labelled_photos(data_dir):
        with Image.open(data_dir / row["file"]) as image:
            rgb = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
        found = faces.detect(rgb)
        reading = np.full(len(LABELS), np.nan)
        if found:
            reading = classifier.predict(faces.crop(rgb, found[0])[None])[0]
        probabilities.append(reading)
        labels.append(LABELS.index(row["emotion"]))
        people.append(row.get("person") or person_of(row["file"]))
    return Readings(np.asarray(probabilities, dtype=np.float64), np.asarray(labels), np.asarray(people))


# Every card field this module writes besides the version: they describe one export's readings, so a release
# served by another export drops them (`ml.ship --reexport`) until they are fitted again.
CARD_FIELDS = (
    "photo_offsets",
    "photo_offsets_data",
    "photo_offsets_regularisation",
    "photo_accuracy_without_offsets",
    "photo_accuracy_unseen_people",
    "photo_accuracy_fitted_photos",
    "public_test_accuracy_with_photo_offsets",
    "photo_offsets_command",
)


def offsets_report(readings: Readings, *, data_name: str) -> dict:
    """The fitted offsets and what they are worth, as flat model-card fields."""
    rows = np.arange(len(readings.labels))
    regularisation = regularisation_choose(readings, rows)
    offsets = offsets_fit(readings, rows, regularisation=regularisation)
    total = len(rows)
    return {
        "photo_offsets": {label: round(float(value), 4) for label, value in zip(LABELS, offsets, strict=True)},
        "photo_offsets_data": (
            f"{data_name}: {total} labelled real photos of {len(np.unique(readings.people))} people, "
            f"a face found in {int(readings.found.sum())}"
        ),
        "photo_offsets_regularisation": regularisation,
        "photo_accuracy_without_offsets": round(correct_count(readings, rows, None) / total, 4),
        "photo_accuracy_unseen_people": round(nested_accuracy(readings), 4),
        "photo_accuracy_fitted_photos": round(correct_count(readings, rows, offsets) / total, 4),
    }


def public_test_accuracy(classifier, fer_data: str, fields: dict) -> float:
    """What the offsets cost on FER-2013's own faces (PublicTest, the validation half; never PrivateTest)."""
    from ml.data import load_split, test_halves

    public, _ = test_halves(load_split(fer_data, "test")[0])
    offsets = np.asarray([fields["photo_offsets"][label] for label in LABELS])
    predicted = np.argmax(offsets_apply(classifier.predict(public.images), offsets), axis=1)
    return round(float(np.mean(predicted == public.labels)), 4)


def card_write(model_path: Path, fields: dict) -> Path:
    from ml.inference import MODEL_CARD

    card_path = model_path.with_name(MODEL_CARD)
    card = json.loads(card_path.read_text())
    card.update(fields)
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return card_path


def main(argv: Sequence[str] | None = None) -> dict:
    from ml.inference import DEFAULT_MODEL, EmotionClassifier

    parser = argparse.ArgumentParser(prog="python -m ml.photo_offsets", description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="folder of labelled real photos (labels.csv: file,emotion)")
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="the .keras model whose card gets the offsets")
    parser.add_argument("--write", action="store_true", help="store the offsets in the model's card")
    parser.add_argument(
        "--version", help="with --write: the card's new version (the site's readings change, and detections record it)"
    )
    parser.add_argument("--fer-data", help="FER-2013 folder: also report PublicTest read with the offsets")
    args = parser.parse_args(argv)
    if args.write and not args.version:
        parser.error("--write needs --version: the readings change, so the model's version must too")

    data_dir = Path(args.data)
    labelled_photos(data_dir)  # refuse a bad labels.csv before loading the model
    classifier = EmotionClassifier.load(args.model, photo_offsets=False)
    readings = readings_collect(data_dir, classifier)
    fields = offsets_report(readings, data_name=data_dir.name)
    if args.fer_data:
        fields["public_test_accuracy_with_photo_offsets"] = public_test_accuracy(classifier, args.fer_data, fields)
    for key, value in fields.items():
        print(f"{key}: {value}")
    if args.write:
        fields["version"] = args.version
        words = argv if argv is not None else sys.argv[1:]
        fields["photo_offsets_command"] = portable("python -m ml.photo_offsets " + shlex.join(words), args.fer_data)
        print(f"Wrote the offsets to {card_write(Path(args.model), fields)}")
    return fields


if __name__ == "__main__":
    main()
