import csv

import cv2
import numpy as np
import pytest

from ml import LABELS
from ml.training.ferplus import NO_MAJORITY, majority_label, vote_distribution, votes_load

COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF")


def votes(**counts: int) -> dict[str, int]:
    return {column: counts.get(column, 0) for column in COLUMNS}


def test_the_votes_become_a_distribution_over_the_seven_emotions_in_label_order():
    distribution = vote_distribution(votes(happiness=6, surprise=2, neutral=2))

    assert distribution.dtype == np.float32 and distribution.sum() == pytest.approx(1.0)
    assert distribution[LABELS.index("happy")] == pytest.approx(0.6)
    assert distribution[LABELS.index("surprise")] == pytest.approx(0.2)
    assert distribution[LABELS.index("neutral")] == pytest.approx(0.2)


def test_contempt_and_unknown_votes_are_dropped_and_the_rest_shared_out():
    distribution = vote_distribution(votes(anger=3, contempt=4, unknown=2, disgust=1))

    assert distribution[LABELS.index("angry")] == pytest.approx(0.75)
    assert distribution[LABELS.index("disgust")] == pytest.approx(0.25)  # contempt is not added to disgust


@pytest.mark.parametrize(
    "counts",
    [
        votes(NF=6, neutral=4),  # most taggers: not a face
        votes(NF=3, neutral=3, unknown=4),  # NF ties with the most votes for a face's emotion
        votes(unknown=8, contempt=2),  # no vote left for the seven
    ],
)
def test_a_face_that_is_not_a_face_or_has_no_emotion_vote_is_left_out(counts):
    assert vote_distribution(counts) is None


def test_a_stray_not_a_face_vote_does_not_leave_a_face_out():
    assert vote_distribution(votes(NF=1, happiness=9)) is not None


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        (votes(happiness=6, neutral=4), "happy"),
        (votes(sadness=5, neutral=5), NO_MAJORITY),  # half is not more than half
        (votes(anger=4, disgust=3, fear=3), NO_MAJORITY),
        (votes(contempt=6, neutral=4), NO_MAJORITY),  # contempt is not one of the seven
        (votes(anger=5, unknown=4, NF=1), "angry"),  # 5 of the 5 emotion votes
    ],
)
def test_the_majority_label_is_the_emotion_more_than_half_the_emotion_votes_chose(counts, expected):
    label = majority_label(counts)
    assert label == (expected if expected == NO_MAJORITY else LABELS.index(expected))


def test_votes_load_reads_a_split_and_counts_what_it_left_out(ferplus_dir):
    train = votes_load(ferplus_dir, "train")

    with (ferplus_dir / "FER2013Train" / "label.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert train.images.shape == (len(train), 48, 48) and train.images.dtype == np.uint8
    assert train.votes.shape == (len(train), 7)
    np.testing.assert_allclose(train.votes.sum(axis=1), 1.0, rtol=1e-6)
    assert len(train) + sum(train.left_out.values()) == len(rows)
    assert train.left_out["not a face"] == 2
    assert set(train.majority[train.scored()]) <= set(range(7)) and (train.majority == NO_MAJORITY).any()


def test_votes_load_refuses_an_unknown_split_or_a_folder_without_labels(ferplus_dir, tmp_path):
    with pytest.raises(ValueError, match=r"Unknown FER\+ split"):
        votes_load(ferplus_dir, "valid")
    with pytest.raises(FileNotFoundError, match=r"label\.csv does not exist"):
        votes_load(tmp_path, "train")


def test_votes_load_skips_a_missing_image_and_refuses_a_malformed_row(tmp_path):
    folder = tmp_path / "FER2013Train"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.full((48, 48), 128, np.uint8))
    rows = [
        ["a.png", "(0, 0, 48, 48)", 10, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ["gone.png", "(0, 0, 48, 48)", 5, 5, 0, 0, 0, 0, 0, 0, 0, 0],
    ]
    with (folder / "label.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)

    loaded = votes_load(tmp_path, "train")

    assert loaded.files == ["a.png"] and loaded.left_out["image missing"] == 1
    (folder / "label.csv").write_text("a.png,(0 0 48 48),1,2\n")
    with pytest.raises(ValueError, match="columns"):
        votes_load(tmp_path, "train")
