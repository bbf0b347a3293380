import cv2
import numpy as np
import pytest

from ml import LABELS
from ml.training.data import class_weights, load_split, oversample_indices, stratified_split


def test_load_split_reads_every_class_in_label_order(fer_dir):
    split, report = load_split(fer_dir, "train")

    assert split.images.shape == (28, 48, 48)
    assert split.images.dtype == np.uint8
    assert report.counts == {label: 4 for label in LABELS}
    # Folders are read in LABELS order, so the label index follows the folder.
    assert [p.split("/")[-2] for p in split.paths] == [label for label in LABELS for _ in range(4)]
    assert split.labels.tolist() == [i for i in range(7) for _ in range(4)]


def _fake_dataset(root):
    for label in LABELS:
        (root / "train" / label).mkdir(parents=True)
        cv2.imwrite(
            str(root / "train" / label / "ok.png"), np.random.default_rng(0).integers(0, 255, (48, 48), np.uint8)
        )
    return root / "train"


def test_load_split_reports_and_handles_anomalies(tmp_path):
    train = _fake_dataset(tmp_path)
    (train / "angry" / "broken.jpg").write_bytes(b"not an image")
    cv2.imwrite(str(train / "happy" / "big.png"), np.random.default_rng(1).integers(0, 255, (96, 64, 3), np.uint8))
    cv2.imwrite(str(train / "sad" / "flat.png"), np.full((48, 48), 7, np.uint8))
    (train / "contempt").mkdir()

    split, report = load_split(tmp_path, "train")

    problems = [(a.path.split("/")[-1], a.problem) for a in report.anomalies]
    assert ("broken.jpg", "cannot be decoded; skipped") in problems
    assert ("big.png", "has 3 channels, not grayscale; converted") in problems
    assert ("big.png", "is 64x96, not 48x48; resized") in problems
    assert ("flat.png", "is a single flat colour (no face); kept") in problems
    assert ("contempt", "folder is not one of the seven emotions; ignored") in problems
    assert len(problems) == 5
    assert split.images.shape == (9, 48, 48)  # the broken file is skipped, the big one resized
    assert report.counts["happy"] == 2 and report.counts["angry"] == 1 and report.counts["sad"] == 2


def test_load_split_refuses_a_folder_without_the_emotions(tmp_path):
    (tmp_path / "train" / "angry").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="lacks the emotion folders disgust"):
        load_split(tmp_path, "train")
    with pytest.raises(FileNotFoundError, match="--data"):
        load_split(tmp_path / "nowhere", "train")


def test_stratified_split_takes_a_fifth_of_every_class_with_a_fixed_seed(fer_dir):
    split, _ = load_split(fer_dir, "train")
    split.labels = np.repeat(np.arange(7), 4)
    train_part, validation_part = stratified_split(split, 0.25, seed=3)
    _, again_validation = stratified_split(split, 0.25, seed=3)

    assert np.bincount(validation_part.labels, minlength=7).tolist() == [1] * 7
    assert len(train_part) == 21
    assert set(train_part.paths).isdisjoint(validation_part.paths)
    assert validation_part.paths == again_validation.paths


def test_class_weights_favour_rare_classes():
    labels = np.array([0] * 8 + [1] * 2)
    full = class_weights(labels, power=1.0)
    dampened = class_weights(labels, power=0.5)

    assert full[1] / full[0] == pytest.approx(4.0)
    assert dampened[1] / dampened[0] == pytest.approx(2.0)
    assert full[labels].mean() == pytest.approx(1.0)


def test_oversampling_evens_the_classes():
    labels = np.array([0] * 6 + [1] * 2 + [3] * 1)
    indices = oversample_indices(labels, np.random.default_rng(0))
    counts = np.bincount(labels[indices], minlength=7)
    assert counts.tolist() == [6, 6, 0, 6, 0, 0, 0]
