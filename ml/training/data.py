"""FER-2013 in Kaggle's folder layout: loading, checks and the validation split."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from ml.runtime.labels import LABELS
from ml.runtime.preprocessing import IMAGE_SIZE

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
DEFAULT_SEED = 1337


@dataclasses.dataclass
class Split:
    """One split of the data set: uint8 images (N, 48, 48), integer labels in LABELS' order."""

    images: np.ndarray
    labels: np.ndarray
    paths: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def counts(self) -> dict[str, int]:
        counter = Counter(self.labels.tolist())
        return {label: int(counter.get(index, 0)) for index, label in enumerate(LABELS)}


@dataclasses.dataclass
class Anomaly:
    path: str
    problem: str


@dataclasses.dataclass
class LoadReport:
    """What the checks found while loading a split."""

    split: str
    counts: dict[str, int]
    anomalies: list[Anomaly]

    def as_dict(self) -> dict:
        return {
            "split": self.split,
            "counts": self.counts,
            "total": sum(self.counts.values()),
            "anomalies": [dataclasses.asdict(anomaly) for anomaly in self.anomalies],
        }


def load_split(data_dir: str | Path, split: str, limit_per_class: int | None = None) -> tuple[Split, LoadReport]:
    """Load `data_dir/split/<emotion>/*` into arrays, checking every image.

    An image that cannot be decoded is skipped and reported; one that is not
    48x48 or not grayscale is reported and converted (grayscale, resized) so a
    slightly different download still trains. Missing emotion folders are an
    error: the labels would silently shift otherwise.
    """
    root = Path(data_dir) / split
    if not root.is_dir():
        raise FileNotFoundError(
            f"{root} does not exist: pass --data the folder holding train/ and test/ "
            "(FER-2013 as downloaded from Kaggle, msambare/fer2013)."
        )
    missing = [label for label in LABELS if not (root / label).is_dir()]
    if missing:
        raise FileNotFoundError(f"{root} lacks the emotion folders {', '.join(missing)}.")
    images: list[np.ndarray] = []
    labels: list[int] = []
    paths: list[str] = []
    anomalies: list[Anomaly] = []
    extra = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name not in LABELS)
    anomalies.extend(Anomaly(str(root / name), "folder is not one of the seven emotions; ignored") for name in extra)
    for index, label in enumerate(LABELS):
        files = sorted(p for p in (root / label).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if limit_per_class is not None:
            files = files[:limit_per_class]
        for path in files:
            image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            if image is None:
                anomalies.append(Anomaly(str(path), "cannot be decoded; skipped"))
                continue
            if image.ndim == 3:
                anomalies.append(Anomaly(str(path), f"has {image.shape[2]} channels, not grayscale; converted"))
                image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY if image.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
            if image.shape != (IMAGE_SIZE, IMAGE_SIZE):
                anomalies.append(Anomaly(str(path), f"is {image.shape[1]}x{image.shape[0]}, not 48x48; resized"))
                image = cv2.resize(image, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_AREA)
            if image.dtype != np.uint8:
                anomalies.append(Anomaly(str(path), f"has dtype {image.dtype}; converted to uint8"))
                image = np.clip(image, 0, 255).astype(np.uint8)
            if int(image.max()) == int(image.min()):
                anomalies.append(Anomaly(str(path), "is a single flat colour (no face); kept"))
            images.append(image)
            labels.append(index)
            paths.append(str(path))
    result = Split(
        images=np.stack(images) if images else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8),
        labels=np.asarray(labels, dtype=np.int64),
        paths=paths,
    )
    return result, LoadReport(split=split, counts=result.counts(), anomalies=anomalies)


def stratified_split(split: Split, fraction: float = 0.2, seed: int = DEFAULT_SEED) -> tuple[Split, Split]:
    """Split off `fraction` of every class (fixed seed) as the validation set."""
    rng = np.random.default_rng(seed)
    validation_indices: list[np.ndarray] = []
    for index in range(len(LABELS)):
        members = np.flatnonzero(split.labels == index)
        rng.shuffle(members)
        validation_indices.append(members[: round(len(members) * fraction)])
    validation_mask = np.zeros(len(split), dtype=bool)
    validation_mask[np.concatenate(validation_indices)] = True

    def subset(mask: np.ndarray) -> Split:
        chosen = np.flatnonzero(mask)
        return Split(split.images[chosen], split.labels[chosen], [split.paths[i] for i in chosen])

    return subset(~validation_mask), subset(validation_mask)


def class_weights(labels: np.ndarray, power: float = 1.0) -> np.ndarray:
    """Inverse-frequency class weights (power 0.5 dampens them), averaging 1 over the samples."""
    counts = np.bincount(labels, minlength=len(LABELS)).astype(np.float64)
    weights = np.where(counts > 0, (counts.sum() / (len(LABELS) * np.maximum(counts, 1))) ** power, 0.0)
    weights /= (weights[labels]).mean()
    return weights.astype(np.float32)


def oversample_indices(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices that repeat rarer classes until each has as many samples as the largest."""
    counts = np.bincount(labels, minlength=len(LABELS))
    target = counts.max()
    chosen = []
    for index in range(len(LABELS)):
        members = np.flatnonzero(labels == index)
        if len(members) == 0:
            continue
        extra = rng.choice(members, size=target - len(members), replace=True)
        chosen.append(np.concatenate([members, extra]))
    return np.concatenate(chosen)


# FER-2013's test folder holds two halves, told apart by file name: PublicTest_* (the Kaggle
# leaderboard, what the literature validates on) and PrivateTest_* (the final, held-out half).
PUBLIC_TEST_PREFIX = "PublicTest_"
PRIVATE_TEST_PREFIX = "PrivateTest_"


def test_halves(test: Split) -> tuple[Split, Split]:
    """(PublicTest, PrivateTest) of a loaded test split. Choices are made on the first; the second is reported."""

    def subset(prefix: str) -> Split:
        chosen = [i for i, path in enumerate(test.paths) if Path(path).name.startswith(prefix)]
        return Split(test.images[chosen], test.labels[chosen], [test.paths[i] for i in chosen])

    public, private = subset(PUBLIC_TEST_PREFIX), subset(PRIVATE_TEST_PREFIX)
    if len(public) + len(private) != len(test):
        raise ValueError(
            f"{len(test) - len(public) - len(private)} test images are named neither {PUBLIC_TEST_PREFIX}* nor "
            f"{PRIVATE_TEST_PREFIX}*: not FER-2013's test folder as Kaggle ships it."
        )
    return public, private
