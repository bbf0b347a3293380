"""ml.training.ship: one net stored for the site, its TTA chosen on validation, measured once, a flat card."""

import json

import numpy as np
import pytest

from ml import LABELS

FER2013_SPLITS = ("public_test", "private_test", "all_test")


@pytest.fixture(scope="module")
def shipped(tiny_run, fer_dir, tmp_path_factory):
    """The tiny FER-2013 run shipped with a float16 export (its own split of train validates it)."""
    from ml.training.ship import ship

    out, _ = tiny_run
    artifacts = tmp_path_factory.mktemp("artifacts")
    command = f"python -m ml.training.ship --run {out} --data {fer_dir} --version emotion-test-1"
    card = ship(
        out,
        "emotion-test-1",
        data=str(fer_dir),
        artifacts=artifacts,
        command=command,
        modes=("plain", "flip"),
        litert_weights="float16",
    )
    return card, artifacts


@pytest.fixture(scope="module")
def ferplus_run(ferplus_dir, tmp_path_factory):
    from ml.training.train import TrainConfig, train

    out = tmp_path_factory.mktemp("ferplus-run")
    config = TrainConfig(arch="tiny", labels="ferplus", ferplus=str(ferplus_dir), out=str(out), epochs=1, batch_size=8)
    train(config, command=f"python -m ml.training.train --ferplus {ferplus_dir}", verbose=0)
    return out


@pytest.fixture(scope="module")
def shipped_ferplus(ferplus_run, ferplus_dir, fer_dir, tmp_path_factory):
    from ml.training.ship import ship

    artifacts = tmp_path_factory.mktemp("artifacts-fp")
    command = f"python -m ml.training.ship --run r --ferplus {ferplus_dir} --data {fer_dir} --version emotion-fp-1"
    card = ship(
        ferplus_run, "emotion-fp-1", data=str(fer_dir), ferplus=str(ferplus_dir), artifacts=artifacts, command=command
    )
    return card, artifacts


def test_ship_writes_the_net_and_a_flat_card(shipped):
    import keras

    from ml.runtime.inference import EmotionClassifier

    card, artifacts = shipped

    assert json.loads((artifacts / "model_card.json").read_text()) == card
    assert card["version"] == "emotion-test-1" and card["architecture"] == "tiny"
    assert card["size_bytes"] == (artifacts / "emotion_model.keras").stat().st_size
    assert card["tta_registered"] == ["plain", "flip"] and card["tta"] in ("plain", "flip")
    assert card["speed"]["ms_per_face"] > 0 and card["speed"]["tta"] == card["tta"]
    assert not any(isinstance(value, dict) and "version" in value for value in card.values())
    assert EmotionClassifier.load(artifacts / "emotion_model.keras").version == "emotion-test-1"
    stored = keras.models.load_model(artifacts / "emotion_model.keras", compile=False)
    assert {weight.dtype for weight in stored.weights} == {"float16"}


def test_ship_measures_the_card_on_the_litert_export_the_site_runs(shipped, fer_dir):
    from ml.runtime.inference import EmotionClassifier, LiteRTModel
    from ml.runtime.preprocessing import preprocess_faces
    from ml.training.data import load_split
    from ml.training.models import load_model

    card, artifacts = shipped
    litert = artifacts / "emotion_model.tflite"

    assert card["litert_file"] == "emotion_model.tflite" and card["litert_size_bytes"] == litert.stat().st_size
    assert card["litert_weights"] == "float16" and "measured on it" in card["runtime"]
    assert card["litert_agreement"]["faces"] == card["validation"]["images"]
    assert card["litert_agreement"]["same_emotion"] == 1.0
    classifier = EmotionClassifier.load(artifacts / "emotion_model.keras")
    assert isinstance(classifier.model, LiteRTModel)
    faces = preprocess_faces(load_split(fer_dir, "test")[0].images)
    keras_reading = load_model(artifacts / "emotion_model.keras").predict(faces, verbose=0)
    np.testing.assert_allclose(classifier.model.predict_on_batch(faces), keras_reading, atol=1e-3)
    assert not list(artifacts.glob("*.tmp*"))


def test_the_card_reports_validation_both_test_halves_and_all_of_test(shipped):
    card, _ = shipped

    assert [card[name]["images"] for name in ("validation", *FER2013_SPLITS)] == [7, 14, 28, 42]
    for name in ("validation", *FER2013_SPLITS):
        low, high = card[name]["interval_95"]
        assert low <= card[name]["accuracy"] <= high
        assert list(card[name]["recall"]) == list(LABELS)
    assert card["validation_data"].startswith("validation (7 faces)")
    assert card["reported_once"].startswith("PrivateTest")
    assert card["tta_validation_accuracy"][card["tta"]] == card["validation"]["accuracy"]


def test_the_card_names_the_data_by_its_variables_not_by_a_path(shipped, shipped_ferplus, fer_dir, ferplus_dir):
    for card, _ in (shipped, shipped_ferplus):
        text = json.dumps(card)
        assert str(fer_dir) not in text and str(ferplus_dir) not in text
        assert "--data $FER_DATA" in card["ship_command"]
        assert not {"data", "ferplus", "out"} & set(card["recipe"])
    assert "--ferplus $FERPLUS_DATA" in shipped_ferplus[0]["ship_command"]
    assert shipped_ferplus[0]["train_command"] == ["python -m ml.training.train --ferplus $FERPLUS_DATA"]


def test_a_ferplus_run_is_chosen_on_the_publictest_faces_majority_and_reports_both_label_sets(
    shipped_ferplus, ferplus_dir
):
    from ml.training import ferplus

    card, _ = shipped_ferplus
    valid = ferplus.votes_load(ferplus_dir, "public-test")
    private = ferplus.votes_load(ferplus_dir, "private-test")

    assert card["validation_data"].startswith(f"ferplus_public_test ({len(valid.scored())} faces)")
    assert card["ferplus_public_test"]["images"] == len(valid.scored())
    assert card["ferplus_private_test"]["images"] == len(private.scored())
    assert [card[name]["images"] for name in FER2013_SPLITS] == [14, 28, 42]
    assert card["tta_validation_accuracy"][card["tta"]] == card["ferplus_public_test"]["accuracy"]
    assert card["litert_weights"] == "int8" and card["data"].startswith("FER+")


def test_a_ferplus_run_needs_the_ferplus_folder(ferplus_run, fer_dir, tmp_path):
    from ml.training.ship import ship

    with pytest.raises(ValueError, match="pass --ferplus"):
        ship(ferplus_run, "v", data=str(fer_dir), artifacts=tmp_path / "a")
    assert not (tmp_path / "a" / "model_card.json").exists()


def test_tta_is_chosen_by_validation_accuracy_with_the_fewest_views_on_a_tie():
    from ml.training.ship import tta_choose

    assert tta_choose({"plain": 0.6667, "flip": 1.0, "tencrop": 1.0}) == "flip"
    assert tta_choose({"plain": 0.6, "flip": 0.6, "vshift": 0.7}) == "vshift"


@pytest.mark.parametrize("modes", [(), ("plain", "flip", "vshift", "tencrop"), ("flip", "flip")])
def test_ship_takes_one_to_three_registered_tta_modes(tiny_run, fer_dir, tmp_path, modes):
    from ml.training.ship import ship

    with pytest.raises(ValueError, match="one to 3 different TTA modes"):
        ship(tiny_run[0], "v", data=str(fer_dir), artifacts=tmp_path, modes=modes)


def test_the_accuracy_interval_is_wilsons():
    from ml.training.evaluate import accuracy_interval

    assert accuracy_interval(70, 100) == (0.6042, 0.7811)  # Wilson: 0.60416 to 0.78107
    assert accuracy_interval(2513, 3589) == (0.685, 0.715)
    assert accuracy_interval(0, 0) == (0.0, 0.0)


def test_ship_refuses_a_folder_without_a_finished_run_in_one_line(fer_dir, tmp_path, capsys):
    from ml.training import ship

    with pytest.raises(SystemExit) as exit_info:
        ship.main(
            ["--run", str(tmp_path), "--data", str(fer_dir), "--version", "v", "--artifacts", str(tmp_path / "a")]
        )

    assert exit_info.value.code == 2
    assert "holds no finished run" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()


def test_an_int8_export_stores_int8_weights_and_reads_faces_nearly_as_the_float16_one(tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    from ml.runtime.inference import LiteRTModel
    from ml.training.export import export_litert
    from ml.training.models import build_model

    net = build_model("vggnet", width=8)
    faces = np.random.default_rng(3).uniform(0, 255, (16, 48, 48, 1)).astype(np.float32)

    export_litert(net, tmp_path / "float16.tflite")
    export_litert(net, tmp_path / "int8.tflite", weights="int8")

    def tensor_types(path):
        return {np.dtype(tensor["dtype"]).name for tensor in Interpreter(str(path)).get_tensor_details()}

    assert "int8" in tensor_types(tmp_path / "int8.tflite")
    assert "int8" not in tensor_types(tmp_path / "float16.tflite")
    assert (tmp_path / "int8.tflite").stat().st_size < 0.7 * (tmp_path / "float16.tflite").stat().st_size
    np.testing.assert_allclose(
        LiteRTModel(tmp_path / "int8.tflite").predict_on_batch(faces),
        LiteRTModel(tmp_path / "float16.tflite").predict_on_batch(faces),
        atol=0.05,
    )
    with pytest.raises(ValueError, match="float16, int8"):
        export_litert(net, tmp_path / "int4.tflite", weights="int4")
