import json
import subprocess
import sys

import numpy as np
import pytest

from ml import LABELS
from ml.inference import DEFAULT_MODEL, EmotionClassifier, card_tta, read_model_card


@pytest.fixture(scope="module")
def classifier(tiny_run):
    _, model_path = tiny_run
    return EmotionClassifier.load(model_path)


def test_predict_gives_probabilities_for_faces_of_any_size(classifier):
    rng = np.random.default_rng(0)
    faces = [rng.integers(0, 256, (48, 48), np.uint8), rng.integers(0, 256, (120, 90), np.uint8)]

    probabilities = classifier.predict(faces)

    assert probabilities.shape == (2, len(LABELS))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert classifier.version == "model"  # no model card beside it: the file's name


def test_predict_on_an_array_batch_matches_the_model_on_preprocessed_input(classifier, fer_dir):
    from ml.data import load_split
    from ml.preprocessing import preprocess_faces

    split, _ = load_split(fer_dir, "test")
    classifier.tta = "plain"
    try:
        probabilities = classifier.predict(split.images)  # 28 faces, padded to a bucket internally
    finally:
        classifier.tta = "flip"
    direct = classifier.model.predict(preprocess_faces(split.images), verbose=0)
    np.testing.assert_allclose(probabilities, direct / direct.sum(axis=1, keepdims=True), atol=1e-5)
    assert classifier.predict(np.zeros((0, 48, 48), np.uint8)).shape == (0, 7)
    assert classifier.predict(np.zeros((70, 48, 48), np.uint8)).shape == (70, 7)


def test_version_comes_from_the_model_card(tiny_run, tmp_path):
    import shutil

    _, model_path = tiny_run
    shutil.copy(model_path, tmp_path / "emotion_model.keras")
    card = {"version": "emotion-test-1", "file": "emotion_model.keras", "inference": {"tta": "tencrop"}}
    (tmp_path / "model_card.json").write_text(json.dumps(card))

    loaded = EmotionClassifier.load(tmp_path / "emotion_model.keras")

    assert loaded.version == "emotion-test-1" and loaded.tta == "tencrop"
    with pytest.raises(FileNotFoundError, match="No emotion model"):
        EmotionClassifier.load(tmp_path / "missing.keras")


def test_the_cards_photo_offsets_are_applied_unless_asked_not_to(tiny_run, tmp_path):
    import shutil

    from ml.photo_offsets import offsets_apply

    _, model_path = tiny_run
    shutil.copy(model_path, tmp_path / "emotion_model.keras")
    offsets = {label: 0.0 for label in LABELS} | {"surprise": 1.0, "angry": -1.0}
    card = {"version": "emotion-test-1", "file": "emotion_model.keras", "photo_offsets": offsets}
    (tmp_path / "model_card.json").write_text(json.dumps(card))
    faces = np.random.default_rng(4).integers(0, 256, (3, 48, 48), np.uint8)

    with_offsets = EmotionClassifier.load(tmp_path / "emotion_model.keras")
    net_alone = EmotionClassifier.load(tmp_path / "emotion_model.keras", photo_offsets=False)

    expected = offsets_apply(net_alone.predict(faces), np.array([offsets[label] for label in LABELS]))
    np.testing.assert_allclose(with_offsets.predict(faces), expected, rtol=1e-5)
    assert net_alone.photo_offsets is None
    card["photo_offsets"] = {"surprise": 1.0}
    (tmp_path / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match="photo_offsets lack angry"):
        EmotionClassifier.load(tmp_path / "emotion_model.keras")


@pytest.mark.parametrize(
    ("inference", "expected"),
    [
        ({"tta": "tencrop", "flip_tta": True}, "tencrop"),
        ({"flip_tta": False}, "plain"),  # cards written before ten-crop was offered
        ({"flip_tta": True}, "flip"),
        ({}, "flip"),
    ],
)
def test_the_card_decides_the_tta_mode(inference, expected):
    assert card_tta({"inference": inference}) == expected


@pytest.mark.parametrize("tta", ["plain", "flip", "tencrop", "vshift"])
def test_each_tta_mode_averages_the_same_views_as_evaluation(classifier, tta):
    from ml.evaluate import keras_predictor, predict_probabilities
    from ml.preprocessing import preprocess_faces

    # Two passes (64 faces, then 6), whose views fill buckets of 64 across faces and end in a padded one.
    faces = np.random.default_rng(3).integers(0, 256, (70, 48, 48), np.uint8)
    classifier.tta = tta
    try:
        probabilities = classifier.predict(faces)
    finally:
        classifier.tta = "flip"

    expected = predict_probabilities(keras_predictor(classifier.model), preprocess_faces(faces), tta)
    np.testing.assert_allclose(probabilities, expected / expected.sum(axis=1, keepdims=True), atol=1e-5)
    with pytest.raises(ValueError, match="TTA mode"):
        EmotionClassifier(classifier.model, "v", tta="rotate")


@pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no shipped model yet")
def test_the_shipped_model_is_one_small_net_with_a_flat_card():
    from ml.models import ensemble_members, load_model

    card = read_model_card()
    classifier = EmotionClassifier.load()

    assert classifier.version == card["version"] and classifier.tta == card["tta"]
    for key in ("architecture", "recipe", "teacher", "validation", "public_test", "private_test", "all_test", "speed"):
        assert key in card, key
    for split in ("validation", "public_test", "private_test", "all_test"):
        assert set(card[split]["recall"]) == set(LABELS)
    assert card["validation_data"].startswith("PublicTest") and card["reported_once"].startswith("PrivateTest")
    assert not any(isinstance(value, dict) and "version" in value for value in card.values())  # no nested cards
    assert len(ensemble_members(load_model(DEFAULT_MODEL))) == 1
    assert DEFAULT_MODEL.stat().st_size == card["size_bytes"] <= 5 * 1024 * 1024
    assert DEFAULT_MODEL.with_name(card["litert_file"]).stat().st_size == card["litert_size_bytes"] <= 5 * 1024 * 1024
    assert classifier.predict(np.zeros((1, 48, 48), np.uint8)).shape == (1, 7)
    # Read for real photos: offsets for every emotion, worth it on people the fit never saw.
    assert set(card["photo_offsets"]) == set(LABELS) and classifier.photo_offsets is not None
    assert card["photo_accuracy_unseen_people"] > card["photo_accuracy_without_offsets"]


@pytest.mark.parametrize("tta", ["plain", "tencrop"])
def test_a_flat_card_names_its_tta_at_the_top(tta):
    assert card_tta({"tta": tta, "inference": {"tta": "flip"}}) == tta


def test_importing_ml_for_the_web_process_loads_no_keras():
    code = "import sys, ml, ml.labels, ml.faces, ml.inference; print({'keras', 'tensorflow'} & set(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "set()"


@pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no shipped model yet")
def test_the_worker_reads_faces_with_the_shipped_model_without_tensorflow():
    """The shipped net runs on LiteRT: loading it and reading a face imports neither Keras nor TensorFlow."""
    code = (
        "import sys, numpy as np; from ml.inference import EmotionClassifier; c = EmotionClassifier.load(); "
        "p = c.predict(np.zeros((3, 48, 48), np.uint8)); "
        "print(p.shape, type(c.model).__name__, sorted({'keras', 'tensorflow'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "(3, 7) LiteRTModel []"
