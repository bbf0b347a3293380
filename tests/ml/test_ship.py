"""ml.ship: one net stored for the site, chosen on validation, measured on both test halves, a flat card."""

import json
from pathlib import Path

import numpy as np
import pytest

from ml import LABELS

SPLITS = ("validation", "public_test", "private_test", "all_test")


@pytest.fixture(scope="module")
def shipped(tiny_run, fer_dir, tmp_path_factory):
    from ml.ship import ship

    out, _ = tiny_run
    artifacts = tmp_path_factory.mktemp("artifacts")
    command = f"python -m ml.ship --run {out} --data {fer_dir} --version emotion-test-1"
    card = ship(out, str(fer_dir), "emotion-test-1", artifacts=artifacts, command=command, modes=("plain", "flip"))
    return card, artifacts


def test_ship_writes_the_net_and_a_flat_card(shipped):
    import keras

    from ml.inference import EmotionClassifier

    card, artifacts = shipped

    assert json.loads((artifacts / "model_card.json").read_text()) == card
    assert card["version"] == "emotion-test-1" and card["architecture"] == "tiny"
    assert card["size_bytes"] == (artifacts / "emotion_model.keras").stat().st_size
    assert card["tta"] in ("plain", "flip") and set(card["tta_validation_accuracy"]) == {"plain", "flip"}
    assert card["speed"]["ms_per_face"] > 0 and card["speed"]["tta"] == card["tta"]
    # Flat: the metrics of each split side by side, no card nested in a card.
    assert not any(isinstance(value, dict) and "version" in value for value in card.values())
    assert EmotionClassifier.load(artifacts / "emotion_model.keras").version == "emotion-test-1"
    stored = keras.models.load_model(artifacts / "emotion_model.keras", compile=False)
    assert {weight.dtype for weight in stored.weights} == {"float16"}


def test_ship_exports_the_net_to_litert_and_measures_the_card_on_that_export(shipped, fer_dir):
    from ml.data import load_split
    from ml.inference import EmotionClassifier, LiteRTModel
    from ml.models import load_model
    from ml.preprocessing import preprocess_faces

    card, artifacts = shipped
    litert = artifacts / "emotion_model.tflite"

    assert card["litert_file"] == "emotion_model.tflite" and card["litert_size_bytes"] == litert.stat().st_size
    assert card["litert_weights"] == "float16" and "(float16 weights)" in card["runtime"]
    assert card["litert_agreement"]["faces"] == card["validation"]["images"]
    assert card["litert_agreement"]["same_emotion"] == 1.0
    assert card["litert_agreement"]["max_probability_difference"] < 1e-3
    assert "measured on it" in card["runtime"]
    classifier = EmotionClassifier.load(artifacts / "emotion_model.keras")
    assert isinstance(classifier.model, LiteRTModel)
    test, _ = load_split(fer_dir, "test")
    faces = preprocess_faces(test.images)
    keras_reading = load_model(artifacts / "emotion_model.keras").predict(faces, verbose=0)
    np.testing.assert_allclose(classifier.model.predict_on_batch(faces), keras_reading, atol=1e-3)
    assert not list(artifacts.glob("*.tmp*"))


def test_a_card_naming_a_missing_export_refuses_to_load(shipped, tmp_path):
    import shutil

    from ml.inference import EmotionClassifier

    _, artifacts = shipped
    for name in ("emotion_model.keras", "model_card.json"):
        shutil.copy(artifacts / name, tmp_path / name)

    with pytest.raises(FileNotFoundError, match=r"emotion_model\.tflite"):
        EmotionClassifier.load(tmp_path / "emotion_model.keras")


def test_the_card_reports_validation_both_test_halves_and_all_of_test(shipped):
    card, _ = shipped

    assert [card[name]["images"] for name in SPLITS] == [7, 14, 28, 42]  # the tiny run's own validation split
    for name in SPLITS:
        low, high = card[name]["interval_95"]
        assert low <= card[name]["accuracy"] <= high
        assert list(card[name]["recall"]) == list(LABELS)
    assert card["validation_data"].startswith("train split")
    assert card["reported_once"].startswith("PrivateTest (28 faces)")
    assert card["tta_validation_accuracy"][card["tta"]] == card["validation"]["accuracy"]


def test_the_card_names_the_data_by_its_variable_not_by_a_path(shipped, fer_dir):
    card, _ = shipped
    text = json.dumps(card)

    assert str(fer_dir) not in text
    assert card["ship_command"].startswith("python -m ml.ship --run") and "--data $FER_DATA" in card["ship_command"]
    assert "data" not in card["recipe"] and "out" not in card["recipe"]


def test_a_run_without_its_own_validation_split_is_validated_on_public_test(tiny_run, fer_dir, tmp_path):
    import shutil

    from ml.data import load_split
    from ml.ship import run_read, splits_load

    run_dir = shutil.copytree(tiny_run[0], tmp_path / "run")
    run = json.loads((run_dir / "run.json").read_text())
    run["validation_counts"] = dict.fromkeys(LABELS, 0)
    (run_dir / "run.json").write_text(json.dumps(run))

    splits = splits_load(str(fer_dir), run_read(run_dir))

    assert all(Path(path).name.startswith("PublicTest_") for path in splits.validation.paths)
    assert all(Path(path).name.startswith("PrivateTest_") for path in splits.private.paths)
    assert len(splits.test) == len(load_split(fer_dir, "test")[0]) == 42


def test_tta_is_chosen_by_validation_accuracy_with_the_fewest_views_on_a_tie():
    from ml.ship import tta_choose

    labels = np.array([0, 1, 1])
    right, wrong = np.array([[0.9, 0.1], [0.1, 0.9], [0.2, 0.8]]), np.array([[0.9, 0.1], [0.9, 0.1], [0.2, 0.8]])

    assert tta_choose(labels, {"plain": wrong, "flip": right, "tencrop": right}) == (
        "flip",
        {"plain": 0.6667, "flip": 1.0, "tencrop": 1.0},
    )
    assert tta_choose(labels, {"plain": wrong, "flip": wrong, "tencrop": right})[0] == "tencrop"


def test_the_accuracy_interval_is_wilsons():
    from ml.evaluate import accuracy_interval

    assert accuracy_interval(70, 100) == (0.6042, 0.7811)  # Wilson: 0.60416 to 0.78107
    assert accuracy_interval(2513, 3589) == (0.685, 0.715)
    assert accuracy_interval(0, 0) == (0.0, 0.0)


def test_ship_refuses_a_folder_without_a_finished_run_in_one_line(fer_dir, tmp_path, capsys):
    from ml import ship

    with pytest.raises(SystemExit) as exit_info:
        ship.main(
            ["--run", str(tmp_path), "--data", str(fer_dir), "--version", "v", "--artifacts", str(tmp_path / "a")]
        )

    assert exit_info.value.code == 2
    assert "holds no finished run" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()


def test_ship_refuses_modes_without_the_sites_one(tiny_run, fer_dir, tmp_path):
    from ml.ship import ship

    with pytest.raises(ValueError, match="flip"):
        ship(tiny_run[0], str(fer_dir), "v", artifacts=tmp_path, tta="flip", modes=("plain",))


def test_a_distilled_student_ships_with_its_teacher_named(tiny_run, fer_dir, tmp_path):
    """A run folder written by ml.distill (history.csv, no state.json) ships the same way."""
    from ml.ship import ship

    run_dir = tmp_path / "student"
    run_dir.mkdir()
    tiny = json.loads((tiny_run[0] / "run.json").read_text())
    (run_dir / "run.json").write_text(
        json.dumps(
            {
                "command": f"python -m ml.distill --data {fer_dir} --out runs/s",
                "config": {**tiny["config"], "teacher": "ml/teachers/t/emotion_model.keras"},
                "teacher_version": "emotion-teacher-1",
                "validation": "PublicTest",
                "train_counts": tiny["train_counts"],
                "keras": "3",
                "backend": "jax",
            }
        )
    )
    (run_dir / "history.csv").write_text("epoch,hard_accuracy,val_hard_accuracy\n0,0.2,0.1\n1,0.3,0.4\n2,0.4,0.3\n")
    (run_dir / "best.keras").write_bytes((tiny_run[0] / "best.keras").read_bytes())

    card = ship(run_dir, str(fer_dir), "emotion-student-1", artifacts=tmp_path / "a", tta="plain")

    assert card["teacher"] == "emotion-teacher-1" and card["trained_with"]["backend"] == "jax"
    assert card["best_epoch"] == 2 and card["epochs_run"] == 3
    assert card["validation"]["images"] == card["public_test"]["images"] == 14
    assert card["validation"]["accuracy"] == card["public_test"]["accuracy"]
    assert card["train_command"] == ["python -m ml.distill --data $FER_DATA --out runs/s"]


@pytest.fixture
def shipped_copy(tiny_run, fer_dir, tmp_path):
    """The tiny net shipped as the site's nets are, validated on PublicTest, into artifacts of the test's own."""
    import shutil

    from ml.ship import ship

    run_dir = shutil.copytree(tiny_run[0], tmp_path / "run")
    run = json.loads((run_dir / "run.json").read_text())
    run["validation_counts"] = dict.fromkeys(LABELS, 0)  # validated on PublicTest, as the shipped nets are
    (run_dir / "run.json").write_text(json.dumps(run))
    artifacts = tmp_path / "artifacts"
    return ship(run_dir, str(fer_dir), "emotion-test-1", artifacts=artifacts, modes=("plain", "flip")), artifacts


def test_a_net_shipped_before_the_export_is_exported_and_its_card_keeps_its_metrics(shipped_copy, fer_dir):
    from ml.inference import EmotionClassifier, LiteRTModel
    from ml.ship import main

    shipped, artifacts = shipped_copy
    (artifacts / "emotion_model.tflite").unlink()
    older = {key: value for key, value in shipped.items() if not key.startswith(("litert", "runtime"))}
    (artifacts / "model_card.json").write_text(json.dumps(older))

    main(["--litert-only", "--data", str(fer_dir), "--artifacts", str(artifacts)])

    card = json.loads((artifacts / "model_card.json").read_text())
    assert card["litert_file"] == "emotion_model.tflite" and (artifacts / "emotion_model.tflite").is_file()
    assert card["litert_agreement"]["faces"] == 14 and card["litert_agreement"]["same_emotion"] == 1.0
    assert "measured on the .keras file" in card["runtime"]
    for split in SPLITS:
        assert card[split] == older[split]
    assert isinstance(EmotionClassifier.load(artifacts / "emotion_model.keras").model, LiteRTModel)
    assert not list(artifacts.glob("*.tmp*"))


def test_an_int8_export_stores_int8_weights_and_reads_faces_nearly_as_the_float16_one(tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    from ml.export import export_litert
    from ml.inference import LiteRTModel
    from ml.models import build_model

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


def test_a_release_served_by_another_export_is_measured_again_and_drops_the_photo_offsets(shipped_copy, fer_dir):
    from ml.inference import EmotionClassifier
    from ml.ship import main

    shipped_card, artifacts = shipped_copy
    # The card as a release with real-photo offsets left it; its figures replaced so that a copy shows.
    before = {
        **shipped_card,
        **{split: {**shipped_card[split], "accuracy": -1.0} for split in SPLITS},
        "photo_offsets": dict.fromkeys(LABELS, 0.0),
        "photo_accuracy_unseen_people": 0.5,
        "public_test_accuracy_with_photo_offsets": 0.4,
    }
    (artifacts / "model_card.json").write_text(json.dumps(before))

    release = ["--reexport", "--litert-weights", "int8", "--version", "emotion-test-1-int8"]
    main([*release, "--data", str(fer_dir), "--artifacts", str(artifacts)])

    card = json.loads((artifacts / "model_card.json").read_text())
    assert card["version"] == "emotion-test-1-int8" and card["released_from"] == "emotion-test-1"
    assert (
        card["litert_weights"] == "int8" and "(int8 weights)" in card["runtime"] and "measured on it" in card["runtime"]
    )
    assert card["litert_size_bytes"] == (artifacts / "emotion_model.tflite").stat().st_size
    for split in SPLITS:
        assert card[split]["accuracy"] == shipped_card[split]["accuracy"]  # measured again (tiny tensors stay float)
    assert card["tta"] in ("plain", "flip") and set(card["tta_validation_accuracy"]) == {"plain", "flip"}
    assert card["recipe"] == shipped_card["recipe"] and card["train_command"] == shipped_card["train_command"]
    assert not [key for key in card if "photo" in key]
    assert card["ship_command"].startswith("python -m ml.ship --reexport") and "$FER_DATA" in card["ship_command"]
    classifier = EmotionClassifier.load(artifacts / "emotion_model.keras")
    assert classifier.version == "emotion-test-1-int8" and classifier.photo_offsets is None
    assert not list(artifacts.glob("*.tmp*"))


def test_a_release_again_chooses_its_tta_among_the_modes_it_is_given(shipped_copy, fer_dir):
    from ml.inference import EmotionClassifier
    from ml.ship import main

    shipped_card, artifacts = shipped_copy
    assert set(shipped_card["tta_validation_accuracy"]) == {"plain", "flip"}

    release = ["--reexport", "--modes", "plain", "flip", "vshift", "--version", "emotion-test-1-vshift"]
    main([*release, "--data", str(fer_dir), "--artifacts", str(artifacts)])

    card = json.loads((artifacts / "model_card.json").read_text())
    assert set(card["tta_validation_accuracy"]) == {"plain", "flip", "vshift"}
    best = max(card["tta_validation_accuracy"].values())
    assert card["tta_validation_accuracy"][card["tta"]] == best == card["validation"]["accuracy"]
    assert card["speed"]["tta"] == card["tta"] and "--modes plain flip vshift" in card["ship_command"]
    assert EmotionClassifier.load(artifacts / "emotion_model.keras").tta == card["tta"]


def test_a_release_again_needs_a_version_of_its_own(shipped_copy, fer_dir, capsys):
    from ml.ship import main

    _, artifacts = shipped_copy
    card_before = (artifacts / "model_card.json").read_text()
    export_before = (artifacts / "emotion_model.tflite").read_bytes()

    with pytest.raises(SystemExit) as exit_info:
        main(["--reexport", "--version", "emotion-test-1", "--data", str(fer_dir), "--artifacts", str(artifacts)])
    assert exit_info.value.code == 2
    assert "is the version shipped now" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--reexport", "--data", str(fer_dir), "--artifacts", str(artifacts)])
    assert "--reexport needs the new release's --version" in capsys.readouterr().err
    assert (artifacts / "model_card.json").read_text() == card_before
    assert (artifacts / "emotion_model.tflite").read_bytes() == export_before


def test_a_net_validated_on_its_own_split_of_train_is_not_released_again(shipped, fer_dir, tmp_path, capsys):
    import shutil

    from ml.ship import main

    _, artifacts = shipped
    copy = shutil.copytree(artifacts, tmp_path / "artifacts")

    with pytest.raises(SystemExit) as exit_info:
        main(["--reexport", "--version", "emotion-test-9", "--data", str(fer_dir), "--artifacts", str(copy)])

    assert exit_info.value.code == 2
    assert "Only a net validated on PublicTest can be released again" in capsys.readouterr().err


def test_ship_asks_for_a_run_and_a_version_unless_it_only_exports(fer_dir, capsys):
    from ml.ship import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--data", str(fer_dir)])

    assert exit_info.value.code == 2
    assert "--run and --version are needed" in capsys.readouterr().err
