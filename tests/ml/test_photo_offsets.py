import csv
import json
import shutil

import numpy as np
import pytest

from ml import LABELS
from ml.inference import EmotionClassifier
from ml.photo_offsets import (
    CARD_FIELDS,
    Readings,
    _person_folds,
    correct_count,
    main,
    nested_accuracy,
    offsets_apply,
    offsets_fit,
    person_of,
)
from tests.conftest import FACES_DIR

ANGRY, FEAR, SURPRISE = LABELS.index("angry"), LABELS.index("fear"), LABELS.index("surprise")


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def biased_readings(
    count: int = 1500, *, seed: int = 0, absent: tuple[int, ...] = (), size: float = 1.0
) -> tuple[Readings, np.ndarray]:
    """A net that reads anger too often and surprise too rarely: labels drawn from its logits plus a known shift."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 2.0, (count, len(LABELS)))
    logits[:, list(absent)] -= 8.0  # emotions nobody in the set shows
    shift = np.zeros(len(LABELS))
    shift[ANGRY], shift[SURPRISE] = -size, size
    truth = softmax(logits + shift)
    labels = np.array([rng.choice(len(LABELS), p=row) for row in truth])
    people = np.array([f"person_{index // 2}" for index in range(count)])  # two photos each
    return Readings(softmax(logits), labels, people), shift


def test_offsets_move_probability_between_emotions_and_keep_each_row_a_distribution():
    probabilities = np.array([[0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.4]], dtype=np.float32)
    offsets = np.zeros(len(LABELS))
    offsets[SURPRISE] = np.log(2.0)

    shifted = offsets_apply(probabilities, offsets)

    assert shifted.dtype == np.float32
    np.testing.assert_allclose(shifted.sum(axis=1), 1.0, rtol=1e-6)
    assert shifted[0, SURPRISE] / shifted[0, ANGRY] == pytest.approx(2.0, rel=1e-5)
    assert offsets_apply(probabilities, None) is probabilities
    np.testing.assert_allclose(offsets_apply(probabilities, np.zeros(len(LABELS))), probabilities, rtol=1e-6)


def test_the_fit_finds_a_known_bias_and_reads_more_photos_right():
    readings, shift = biased_readings()
    rows = np.arange(len(readings.labels))

    offsets = offsets_fit(readings, rows, regularisation=0.0001)

    np.testing.assert_allclose(offsets, shift - shift.mean(), atol=0.25)
    assert offsets.mean() == pytest.approx(0.0, abs=1e-9)
    assert correct_count(readings, rows, offsets) > correct_count(readings, rows, None) + 30


def test_an_emotion_the_photos_lack_keeps_the_others_mean_offset_and_can_still_be_read():
    readings, _ = biased_readings(absent=(FEAR,))
    assert not np.any(readings.labels == FEAR)

    offsets = offsets_fit(readings, np.arange(len(readings.labels)), regularisation=0.0001)

    assert offsets[FEAR] == pytest.approx(0.0, abs=1e-9)  # the others' mean, after centring
    frightened = np.full((1, len(LABELS)), 0.05)
    frightened[0, FEAR] = 0.7
    assert np.argmax(offsets_apply(frightened, offsets)) == FEAR


def test_a_person_is_never_on_both_sides_of_a_fold():
    readings, _ = biased_readings(count=300)

    folds = _person_folds(readings.people, seed=1)

    assert sum(len(fold) for fold in folds) == len(np.unique(readings.people))
    assert len(set().union(*map(set, folds))) == len(np.unique(readings.people))


def test_offsets_fitted_on_some_people_help_others():
    readings, _ = biased_readings(count=800, seed=3, size=1.5)
    without = correct_count(readings, np.arange(len(readings.labels)), None) / len(readings.labels)

    assert nested_accuracy(readings) > without + 0.02


def test_a_photo_without_a_face_counts_as_wrong():
    readings, _ = biased_readings(count=40)
    probabilities = readings.probabilities.copy()
    probabilities[:10] = np.nan
    missing = Readings(probabilities, readings.labels, readings.people)
    rows = np.arange(40)

    assert correct_count(missing, rows, None) == correct_count(readings, rows[10:], None)
    assert np.isfinite(offsets_fit(missing, rows, regularisation=0.01)).all()


def test_with_too_few_photos_of_every_emotion_nothing_is_learnt():
    readings, _ = biased_readings(count=30)

    np.testing.assert_array_equal(offsets_fit(readings, np.arange(30), regularisation=0.01), np.zeros(len(LABELS)))


@pytest.mark.parametrize(
    ("file", "person"),
    [("angry/Kim_Clijsters_0001.jpg", "Kim_Clijsters"), ("happy/selfie.png", "selfie"), ("x/A_12_0003.jpeg", "A_12")],
)
def test_the_person_comes_from_an_lfw_style_name(file, person):
    assert person_of(file) == person


def test_the_command_reads_the_photos_and_writes_the_offsets_to_the_card(tiny_run, fer_dir, tmp_path, capsys):
    _, model_path = tiny_run
    model = tmp_path / "model" / "emotion_model.keras"
    model.parent.mkdir()
    shutil.copy(model_path, model)
    (model.parent / "model_card.json").write_text(json.dumps({"version": "emotion-test-2", "file": model.name}))
    photos = tmp_path / "photos"
    photos.mkdir()
    with (photos / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "emotion", "person"])
        for face in sorted(FACES_DIR.glob("*.jpg")):
            shutil.copy(face, photos / face.name)
            writer.writerow([face.name, face.stem.split("_")[0], face.stem])

    fields = main(
        ["--data", str(photos), "--model", str(model), "--fer-data", str(fer_dir), "--write", "--version", "v-photo"]
    )

    card = json.loads((model.parent / "model_card.json").read_text())
    assert card["file"] == "emotion_model.keras" and card["version"] == "v-photo"  # the rest of the card is kept
    # A release served by another export drops exactly what this wrote (ml.ship --reexport).
    assert set(card) - {"file", "version"} == set(CARD_FIELDS)
    assert card["photo_offsets_command"].startswith("python -m ml.photo_offsets --data ")
    assert "--fer-data $FER_DATA" in card["photo_offsets_command"]
    assert 0.0 <= card["public_test_accuracy_with_photo_offsets"] <= 1.0
    assert set(card["photo_offsets"]) == set(LABELS) and card["photo_offsets"] == fields["photo_offsets"]
    assert card["photo_offsets_data"].startswith("photos: 14 labelled real photos of 14 people")
    for key in ("photo_accuracy_without_offsets", "photo_accuracy_unseen_people", "photo_accuracy_fitted_photos"):
        assert 0.0 <= card[key] <= 1.0
    assert "photo_accuracy_unseen_people" in capsys.readouterr().out
    assert EmotionClassifier.load(model).photo_offsets.shape == (len(LABELS),)


def test_writing_offsets_needs_a_new_version(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--data", str(tmp_path), "--write"])

    assert "--write needs --version" in capsys.readouterr().err


def test_labels_the_model_does_not_know_are_refused(tmp_path):
    (tmp_path / "labels.csv").write_text("file,emotion\na.jpg,contempt\n")

    with pytest.raises(ValueError, match="contempt"):
        main(["--data", str(tmp_path)])
