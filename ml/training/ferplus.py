"""FER+ (Barsoum et al. 2016, Microsoft, MIT): the FER-2013 faces with ten crowd taggers' votes each.

Each split folder (`FER2013Train`, `FER2013Valid` = FER-2013's PublicTest faces, `FER2013Test` = its
PrivateTest faces) holds 48x48 PNGs and a `label.csv` whose rows read
`file, face box, neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF`.

What the votes become for the seven emotions the product reads:

- **unknown** votes are dropped: the tagger could not tell, which says nothing about which emotion it is.
- **contempt** votes are dropped too. FER-2013 has no contempt, and contempt's display (one lip corner
  tightened) is not disgust's (nose wrinkled, upper lip raised): giving the votes to disgust would teach
  disgust from smirks. A face's remaining votes are its distribution.
- **NF** (not a face): a face where NF has as many votes as its most-voted emotion is left out, and so is
  a face with no vote left for the seven emotions.

The training targets are the remaining votes as a distribution (soft targets). The *majority label* that
the model is scored against is Barsoum et al.'s rule: the emotion that more than half of a face's emotion
votes chose (contempt included in the count); a face without one, or whose majority is contempt, is not
scored by it.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import cv2
import numpy as np

from ml.runtime.labels import LABELS
from ml.runtime.preprocessing import IMAGE_SIZE

# label.csv's vote columns, in file order (after `file` and `face box`).
VOTE_COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF")
# The FER+ emotion each of LABELS reads from.
LABEL_COLUMNS = {
    "angry": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "happy": "happiness",
    "sad": "sadness",
    "surprise": "surprise",
    "neutral": "neutral",
}
SPLIT_FOLDERS = {"train": "FER2013Train", "public-test": "FER2013Valid", "private-test": "FER2013Test"}
NO_MAJORITY = -1


@dataclasses.dataclass
class VoteSet:
    """One FER+ split: uint8 faces (N, 48, 48), vote distributions (N, 7) in LABELS' order, majority labels."""

    images: np.ndarray
    votes: np.ndarray
    majority: np.ndarray
    files: list[str]
    left_out: dict[str, int]

    def __len__(self) -> int:
        return len(self.files)

    def scored(self) -> np.ndarray:
        """The faces that have a majority label among the seven."""
        return np.flatnonzero(self.majority != NO_MAJORITY)


def vote_distribution(counts: dict[str, int]) -> np.ndarray | None:
    """The seven emotions' share of a face's votes, or None when the face is left out (see the module)."""
    if counts["NF"] > 0 and counts["NF"] >= max(counts[column] for column in VOTE_COLUMNS[:8]):
        return None
    seven = np.asarray([counts[LABEL_COLUMNS[label]] for label in LABELS], dtype=np.float32)
    total = seven.sum()
    if total == 0:
        return None
    return seven / total


def majority_label(counts: dict[str, int]) -> int:
    """The index in LABELS that more than half of the emotion votes chose, or NO_MAJORITY."""
    emotions = {column: counts[column] for column in VOTE_COLUMNS[:8]}
    total = sum(emotions.values())
    top = max(emotions, key=emotions.get)
    if total == 0 or emotions[top] * 2 <= total or top == "contempt":
        return NO_MAJORITY
    return LABELS.index(next(label for label, column in LABEL_COLUMNS.items() if column == top))


def read_counts(row: list[str]) -> dict[str, int]:
    if len(row) != 2 + len(VOTE_COLUMNS):
        raise ValueError(f"a label.csv row has {len(row)} columns, not {2 + len(VOTE_COLUMNS)}: {row[:3]}")
    return dict(zip(VOTE_COLUMNS, (int(value) for value in row[2:]), strict=True))


def votes_load(root: str | Path, split: str, *, limit: int | None = None) -> VoteSet:
    """Load FER+'s `split` ("train", "public-test" or "private-test") from `root`, the folder holding its splits."""
    if split not in SPLIT_FOLDERS:
        raise ValueError(f"Unknown FER+ split {split!r}; choose one of {', '.join(SPLIT_FOLDERS)}.")
    folder = Path(root) / SPLIT_FOLDERS[split]
    if not (folder / "label.csv").is_file():
        raise FileNotFoundError(
            f"{folder / 'label.csv'} does not exist: pass the FER+ folder holding {', '.join(SPLIT_FOLDERS.values())}."
        )
    images, votes, majority, files = [], [], [], []
    left_out = {"not a face": 0, "no emotion vote": 0, "image missing": 0}
    with (folder / "label.csv").open(newline="") as handle:
        for row in csv.reader(handle):
            if not row:
                continue
            counts = read_counts(row)
            distribution = vote_distribution(counts)
            if distribution is None:
                left_out["not a face" if counts["NF"] else "no emotion vote"] += 1
                continue
            image = cv2.imread(str(folder / row[0]), cv2.IMREAD_GRAYSCALE)
            if image is None:
                left_out["image missing"] += 1
                continue
            if image.shape != (IMAGE_SIZE, IMAGE_SIZE):
                image = cv2.resize(image, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_AREA)
            images.append(image)
            votes.append(distribution)
            majority.append(majority_label(counts))
            files.append(row[0])
            if limit is not None and len(files) >= limit:
                break
    return VoteSet(
        images=np.stack(images) if images else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8),
        votes=np.stack(votes) if votes else np.zeros((0, len(LABELS)), np.float32),
        majority=np.asarray(majority, dtype=np.int64),
        files=files,
        left_out=left_out,
    )
