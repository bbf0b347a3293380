import json
import subprocess
import sys

import numpy as np
import pytest

from ml import LABELS
from ml.runtime.inference import DEFAULT_MODEL, EmotionClassifier, read_model_card


@pytest.fixture(scope="module")
def classifier(tiny_run):
    """The tiny run's net read through the classifier, as the training bench reads a run's `.keras` file."""
    from ml.training.models import load_model

    _, model_path = tiny_run
    return EmotionClassifier(load_model(model_path), "tiny")


@pytest.fixture
def shipped_copy(tmp_path):
    """The shipped LiteRT export in a folder of its own, with a card the test writes."""
    import shutil

    card = read_model_card()
    shutil.copy(DEFAULT_MODEL.with_name(card["litert_file"]), tmp_path / "emotion_model.tflite")

    def write_card(**fields):
        card = {"version": "emotion-test-1", "file": "emotion_model.keras", "litert_file": "emotion_model.tflite"}
        (tmp_path / "model_card.json").write_text(json.dumps(card | fields))
        return tmp_path / "emotion_model.keras"

    return write_card


def test_predict_gives_probabilities_for_faces_of_any_size(classifier):
    rng = np.random.default_rng(0)
    faces = [rng.integers(0, 256, (48, 48), np.uint8), rng.integers(0, 256, (120, 90), np.uint8)]

    probabilities = classifier.predict(faces)

    assert probabilities.shape == (2, len(LABELS))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_predict_on_an_array_batch_matches_the_model_on_preprocessed_input(classifier, fer_dir):
    from ml.runtime.preprocessing import preprocess_faces
    from ml.training.data import load_split

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


@pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no shipped model yet")
def test_load_reads_the_version_and_the_tta_from_the_card_and_runs_the_litert_export(shipped_copy):
    from ml.runtime.inference import LiteRTModel

    loaded = EmotionClassifier.load(shipped_copy(tta="tencrop"))

    assert loaded.version == "emotion-test-1" and loaded.tta == "tencrop"
    assert isinstance(loaded.model, LiteRTModel)
    assert EmotionClassifier.load(shipped_copy(), tta="plain").tta == "plain"


def test_load_refuses_a_model_without_a_card_naming_its_export(tiny_run, tmp_path):
    import shutil

    _, model_path = tiny_run
    shutil.copy(model_path, tmp_path / "emotion_model.keras")
    with pytest.raises(FileNotFoundError, match="No shipped emotion model"):
        EmotionClassifier.load(tmp_path / "emotion_model.keras")
    with pytest.raises(FileNotFoundError, match="No shipped emotion model"):
        EmotionClassifier.load(tmp_path / "missing.keras")
    card = {"version": "v", "file": "emotion_model.keras", "litert_file": "gone.tflite"}
    (tmp_path / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(FileNotFoundError, match=r"names gone\.tflite, which is not beside it"):
        EmotionClassifier.load(tmp_path / "emotion_model.keras")


@pytest.mark.parametrize("tta", ["plain", "flip", "tencrop", "vshift"])
def test_each_tta_mode_averages_the_same_views_as_evaluation(classifier, tta):
    from ml.runtime.preprocessing import preprocess_faces
    from ml.training.evaluate import keras_predictor, predict_probabilities

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
    from ml.training.models import ensemble_members, load_model

    card = read_model_card()
    classifier = EmotionClassifier.load()

    assert classifier.version == card["version"] and classifier.tta == card["tta"]
    # Both label sets on the PrivateTest faces: FER+'s ten-tagger majority, and FER-2013's own labels.
    splits = ("ferplus_public_test", "ferplus_private_test", "public_test", "private_test", "all_test")
    for key in ("architecture", "recipe", "tta_registered", "speed", "train_command", "ship_command", *splits):
        assert key in card, key
    for split in splits:
        assert set(card[split]["recall"]) == set(LABELS)
    assert card["validation_data"].startswith("ferplus_public_test") and card["reported_once"].startswith("PrivateTest")
    assert card["tta"] in card["tta_registered"] and len(card["tta_registered"]) <= 3
    assert (
        card["ferplus_private_test"]["accuracy"] >= 0.86
        and min(card["ferplus_private_test"]["recall"].values()) >= 0.45
    )
    assert not any(isinstance(value, dict) and "version" in value for value in card.values())  # no nested cards
    assert len(ensemble_members(load_model(DEFAULT_MODEL))) == 1
    assert DEFAULT_MODEL.stat().st_size == card["size_bytes"] <= 5 * 1024 * 1024
    assert DEFAULT_MODEL.with_name(card["litert_file"]).stat().st_size == card["litert_size_bytes"] <= 5 * 1024 * 1024
    assert classifier.predict(np.zeros((1, 48, 48), np.uint8)).shape == (1, 7)
    # Nothing fitted to one set of labelled photos ships: no offsets, priors or thresholds in the card.
    fitted = [key for key in card if any(word in key for word in ("photo", "offset", "prior", "threshold"))]
    assert fitted == []


def test_importing_ml_for_the_web_process_loads_no_keras():
    code = (
        "import sys, ml, ml.runtime.labels, ml.runtime.faces, ml.runtime.inference; "
        "print({'keras', 'tensorflow'} & set(sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "set()"


@pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no shipped model yet")
def test_the_worker_reads_faces_with_the_shipped_model_without_tensorflow():
    """The shipped net runs on LiteRT: loading it and reading a face imports neither Keras nor TensorFlow."""
    code = (
        "import sys, numpy as np; from ml.runtime.inference import EmotionClassifier; c = EmotionClassifier.load(); "
        "p = c.predict(np.zeros((3, 48, 48), np.uint8)); "
        "print(p.shape, type(c.model).__name__, sorted({'keras', 'tensorflow'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "(3, 7) LiteRTModel []"
