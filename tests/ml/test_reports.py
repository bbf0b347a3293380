"""The report tools end to end on the fixture images: ship, compare, ensemble, EDA."""

import json
from pathlib import Path

import pytest

from ml import LABELS

CATALOG = Path(__file__).resolve().parents[2] / "catalog" / "seed" / "data_moods.csv"


@pytest.fixture(scope="module")
def shipped(tiny_run, fer_dir, tmp_path_factory):
    from ml.ship import ship

    out, _ = tiny_run
    artifacts = tmp_path_factory.mktemp("artifacts")
    reports = tmp_path_factory.mktemp("shipped-report")
    card = ship(
        out,
        str(fer_dir),
        "emotion-test-1",
        report_dir=reports,
        artifacts=artifacts,
        command="ship it",
        modes=("plain", "flip"),
    )
    return card, artifacts, reports


def test_ship_writes_the_model_and_a_complete_card(shipped):
    import keras

    from ml.inference import EmotionClassifier

    card, artifacts, reports = shipped
    saved = json.loads((artifacts / "model_card.json").read_text())
    evaluation = json.loads((reports / "evaluation.json").read_text())

    assert saved == card
    assert card["version"] == "emotion-test-1" and card["architecture"] == "tiny"
    assert card["test_accuracy"] == evaluation["results"]["flip"]["accuracy"]
    assert list(card["per_class_recall"]) == list(LABELS)
    assert card["epochs"] == {"planned": 1, "run": 1, "best": 1}
    assert card["command"]["ship"] == "ship it" and card["data"]["test_images"] == 28
    assert (reports / "confusion_flip.png").is_file()
    assert EmotionClassifier.load(artifacts / "emotion_model.keras").version == "emotion-test-1"
    stored = keras.models.load_model(artifacts / "emotion_model.keras", compile=False)
    assert {weight.dtype for weight in stored.weights} == {"float16"}
    assert card["weights"].startswith("stored in float16")


def test_ship_converts_mixed_precision_fits_a_prior_shift_and_records_the_tta(fer_dir, tmp_path):
    import keras

    from ml.inference import EmotionClassifier
    from ml.models import ClassPriorShift, load_model
    from ml.ship import ship
    from ml.train import TrainConfig, train

    run = tmp_path / "run"
    config = TrainConfig(
        arch="vggnet", width=4, data=str(fer_dir), out=str(run), epochs=1, batch_size=8, precision="mixed_bfloat16"
    )
    try:
        train(config, verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")

    card = ship(
        run,
        str(fer_dir),
        "emotion-test-2",
        report_dir=tmp_path / "report",
        artifacts=tmp_path / "artifacts",
        tta="tencrop",
        min_recall=0.9,  # out of reach for one epoch on 28 images: a shift is certain to be fitted
    )

    shipped = load_model(tmp_path / "artifacts" / "emotion_model.keras")
    assert {layer.compute_dtype for layer in shipped.layers if layer.weights} == {"float32"}
    assert isinstance(shipped.layers[-1], ClassPriorShift)
    assert shipped.layers[-1].shift == [card["prior_shift"]["shift"][label] for label in LABELS]
    assert card["prior_shift"]["min_recall"] == 0.9 and "validation" in card["prior_shift"]["fitted_on"]
    assert card["inference"]["tta"] == "tencrop" and card["test_accuracy"] == card["test_accuracy_by_tta"]["tencrop"]
    assert EmotionClassifier.load(tmp_path / "artifacts" / "emotion_model.keras").tta == "tencrop"


def test_choose_tta_takes_the_best_validation_accuracy_and_the_fewest_views_on_a_tie():
    import numpy as np

    from ml.ship import choose_tta

    labels = np.array([0, 1, 1])
    right, wrong = np.array([[0.9, 0.1], [0.1, 0.9], [0.2, 0.8]]), np.array([[0.9, 0.1], [0.9, 0.1], [0.2, 0.8]])

    assert choose_tta(labels, {"plain": wrong, "flip": right, "tencrop": right}) == (
        "flip",
        {"plain": 0.6667, "flip": 1.0, "tencrop": 1.0},
    )
    assert choose_tta(labels, {"plain": wrong, "flip": wrong, "tencrop": right})[0] == "tencrop"


def test_ship_with_auto_tta_records_the_validation_choice(tiny_run, fer_dir, tmp_path):
    from ml.ship import ship

    out, _ = tiny_run
    card = ship(out, str(fer_dir), "v", report_dir=tmp_path / "r", artifacts=tmp_path / "a", tta="auto")

    selection = card["inference"]["tta_selection"]
    accuracy = selection["validation_accuracy"]
    assert selection["chosen_on"] == "validation split" and set(accuracy) == {"plain", "flip", "tencrop"}
    assert accuracy[card["inference"]["tta"]] == max(accuracy.values())
    assert card["prior_shift"] is None


def test_ship_refuses_modes_without_the_sites_one(tiny_run, fer_dir, tmp_path):
    from ml.ship import ship

    out, _ = tiny_run
    with pytest.raises(ValueError, match="flip"):
        ship(out, str(fer_dir), "v", report_dir=tmp_path, artifacts=tmp_path, modes=("plain",))


@pytest.fixture(scope="module")
def full_run(fer_dir, tmp_path_factory):
    """Two epochs of the tiny model on all of the fixture's train images: no validation split."""
    from ml.train import TrainConfig, train

    out = tmp_path_factory.mktemp("full-run")
    config = TrainConfig(
        arch="tiny", data=str(fer_dir), out=str(out), epochs=2, batch_size=8, validation_fraction=0.0, seed=7
    )
    train(config, command="python -m ml.train --arch tiny --validation-fraction 0", verbose=0)
    return out


def test_a_run_without_validation_ships_with_a_tta_chosen_before_and_says_so(full_run, fer_dir, tmp_path):
    from ml.ship import ship

    card = ship(full_run, str(fer_dir), "v", report_dir=tmp_path / "r", artifacts=tmp_path / "a", tta="flip")

    assert card["data"]["validation_images"] == 0 and card["data"]["validation"].startswith("none")
    assert card["validation_accuracy"] is None and card["epochs"] == {"planned": 2, "run": 2, "best": 2}
    assert card["inference"]["tta"] == "flip" and card["ensemble"] is None
    for choice in ({"tta": "auto"}, {"min_recall": 0.4}):
        with pytest.raises(ValueError, match="no validation split"):
            ship(full_run, str(fer_dir), "v", report_dir=tmp_path / "r2", artifacts=tmp_path / "a2", **choice)
    assert not (tmp_path / "a2").exists()


@pytest.fixture
def artifacts(shipped, tmp_path):
    """A copy of the shipped artifacts that a test may replace."""
    import shutil

    return shutil.copytree(shipped[1], tmp_path / "artifacts")


def random_faces(seed: int):
    import numpy as np

    from ml.preprocessing import preprocess_faces

    return preprocess_faces(np.random.default_rng(seed).integers(0, 256, (5, 48, 48), dtype=np.uint8))


def ship_with_shipped(run, fer_dir, version: str, artifacts, report_dir) -> dict:
    """Ship the run averaged with the model in `artifacts`, which it replaces."""
    from ml.ship import ship

    model = artifacts / "emotion_model.keras"
    return ship(run, str(fer_dir), version, report_dir=report_dir, artifacts=artifacts, ensemble_with=[model])


def as_shipped(model_path, tmp_path):
    """The model as ml.ship stores it: weights rounded to float16, computing in float32."""
    from ml.models import load_model, save_for_inference

    save_for_inference(load_model(model_path), tmp_path / "as-shipped.keras")
    return load_model(tmp_path / "as-shipped.keras")


def member_names(model) -> list[str]:
    return [layer.name for layer in model.layers if layer.name.startswith("member_")]


def test_ship_an_ensemble_with_the_shipped_model_replacing_it(shipped, artifacts, full_run, fer_dir, tmp_path):
    import numpy as np

    from ml.inference import EmotionClassifier
    from ml.models import load_model

    previous_card = shipped[0]
    previous = load_model(artifacts / "emotion_model.keras")
    single = as_shipped(full_run / "best.keras", tmp_path)

    card = ship_with_shipped(full_run, fer_dir, "emotion-ensemble-1", artifacts, tmp_path / "report")

    ensemble = load_model(artifacts / "emotion_model.keras")
    faces = random_faces(0)
    expected = (single.predict(faces, verbose=0) + previous.predict(faces, verbose=0)) / 2
    np.testing.assert_allclose(ensemble.predict(faces, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert member_names(ensemble) == ["member_1", "member_2"]
    assert card["architecture"] == "ensemble of tiny, tiny"
    assert card["parameters"] == single.count_params() + previous.count_params()
    members = card["ensemble"]["members"]
    assert members[0]["source"] == str(full_run / "best.keras")
    assert members[1]["card"] == previous_card  # read before the new model replaced it
    assert json.loads((artifacts / "model_card.json").read_text()) == card
    assert EmotionClassifier.load(artifacts / "emotion_model.keras").version == "emotion-ensemble-1"


def test_ship_a_net_with_a_shipped_ensemble_weighs_every_net_the_same(artifacts, full_run, fer_dir, tmp_path):
    import numpy as np

    from ml.models import load_model

    single = load_model(artifacts / "emotion_model.keras")
    full = as_shipped(full_run / "best.keras", tmp_path)
    pair_card = ship_with_shipped(full_run, fer_dir, "pair", artifacts, tmp_path / "r1")

    trio_card = ship_with_shipped(full_run, fer_dir, "trio", artifacts, tmp_path / "r2")

    trio = load_model(artifacts / "emotion_model.keras")
    faces = random_faces(3)
    expected = (2 * full.predict(faces, verbose=0) + single.predict(faces, verbose=0)) / 3
    np.testing.assert_allclose(trio.predict(faces, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert member_names(trio) == ["member_1", "member_2", "member_3"]
    assert pair_card["architecture"] == "ensemble of tiny, tiny"
    assert trio_card["architecture"] == "ensemble of tiny, tiny, tiny"
    assert trio_card["ensemble"]["members"][1]["card"] == pair_card


def test_ship_describes_a_member_from_a_training_run_by_that_run(artifacts, full_run, tiny_run, fer_dir, tmp_path):
    from ml.ship import ship

    run_dir, model_path = tiny_run
    shipped_card = json.loads((artifacts / "model_card.json").read_text())
    run = json.loads((run_dir / "run.json").read_text())

    card = ship(
        full_run,
        str(fer_dir),
        "trio",
        report_dir=tmp_path / "report",
        artifacts=artifacts,
        ensemble_with=[artifacts / "emotion_model.keras", model_path],
    )

    shipped_member, run_member = card["ensemble"]["members"][1:]
    assert shipped_member["card"] == shipped_card
    assert run_member["source"] == str(model_path)
    assert run_member["card"]["recipe"] == run["config"]
    assert run_member["card"]["epochs"] == {"planned": 1, "run": 1, "best": 1}
    assert run_member["card"]["command"] == {"train": ["python -m ml.train --arch tiny"]}
    assert card["architecture"] == "ensemble of tiny, tiny, tiny"


def test_ship_records_the_shipped_version_a_warm_started_run_began_from(tiny_run, fer_dir, tmp_path):
    import shutil

    from ml.ship import ship

    run_dir = shutil.copytree(tiny_run[0], tmp_path / "warm-run")
    run = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**run, "init_from_version": "emotion-old-1"}))

    card = ship(run_dir, str(fer_dir), "v2", report_dir=tmp_path / "report", artifacts=tmp_path / "artifacts")

    assert card["init_from_version"] == "emotion-old-1"
    assert json.loads((tmp_path / "artifacts" / "model_card.json").read_text())["init_from_version"] == "emotion-old-1"


def test_ship_refuses_a_missing_ensemble_member(tiny_run, fer_dir, tmp_path):
    from ml.ship import ship

    out, _ = tiny_run
    with pytest.raises(FileNotFoundError, match=r"nowhere\.keras"):
        ship(
            out, str(fer_dir), "v", report_dir=tmp_path, artifacts=tmp_path, ensemble_with=[tmp_path / "nowhere.keras"]
        )


def test_ship_refuses_a_member_nothing_describes_before_evaluating(artifacts, tiny_run, fer_dir, tmp_path):
    from ml.ship import ship

    out, _ = tiny_run
    copy = tmp_path / "copy" / "shipped.keras"  # the shipped file copied away from its card
    copy.parent.mkdir()
    copy.write_bytes((artifacts / "emotion_model.keras").read_bytes())
    shipped_before = (artifacts / "emotion_model.keras").read_bytes()

    with pytest.raises(ValueError, match=r"Nothing describes .*shipped\.keras"):
        ship(out, str(fer_dir), "v", report_dir=tmp_path / "report", artifacts=artifacts, ensemble_with=[copy])

    assert (artifacts / "emotion_model.keras").read_bytes() == shipped_before
    assert not (tmp_path / "report").exists()


def test_compare_writes_the_table_and_chart(tiny_run, fer_dir, tmp_path):
    from ml import compare, evaluate

    out, model_path = tiny_run
    evaluate.main(["--model", str(model_path), "--data", str(fer_dir), "--modes", "plain", "flip"])
    compare.main(["--runs", str(out), str(tmp_path / "not-a-run"), "--out", str(tmp_path)])

    table = (tmp_path / "comparison.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith(f"| {out.name} |"))
    accuracy = json.loads((out / "evaluation.json").read_text())["results"]["plain"]["accuracy"]
    assert "| tiny |" in row and f"| {accuracy:.4f} |" in row and "| 1 / 1 |" in row
    assert "| vgg16 | 0.63 |" in table
    assert (tmp_path / "comparison.png").stat().st_size > 0


def test_an_ensemble_of_one_model_twice_matches_the_model(tiny_run, fer_dir, tmp_path):
    from ml import ensemble, evaluate

    _, model_path = tiny_run
    evaluate.main(
        ["--model", str(model_path), "--data", str(fer_dir), "--out", str(tmp_path / "alone"), "--modes", "plain"]
    )
    ensemble.main(
        [
            "--models",
            str(model_path),
            str(model_path),
            "--data",
            str(fer_dir),
            "--out",
            str(tmp_path / "together"),
            "--modes",
            "plain",
        ]
    )

    alone = json.loads((tmp_path / "alone" / "evaluation.json").read_text())["results"]["plain"]
    together = json.loads((tmp_path / "together" / "evaluation.json").read_text())
    assert together["results"]["plain"]["confusion_matrix"] == alone["confusion_matrix"]
    assert together["results"]["plain"]["loss"] == pytest.approx(alone["loss"], rel=1e-5)
    assert together["nets"] == 2


def test_an_ensemble_with_an_ensemble_counts_its_nets_in_the_comparison(tiny_run, fer_dir, tmp_path):
    from ml import compare, ensemble
    from ml.models import build_ensemble, load_model

    out, model_path = tiny_run
    build_ensemble([load_model(model_path), load_model(model_path)]).save(tmp_path / "pair.keras")
    models = [str(tmp_path / "pair.keras"), str(model_path)]
    ensemble.main(
        ["--models", *models, "--data", str(fer_dir), "--out", str(tmp_path / "trio"), "--name", "pair + one"]
    )

    compare.main(
        ["--runs", str(out), "--ensembles", str(tmp_path / "trio" / "evaluation.json"), "--out", str(tmp_path)]
    )

    assert json.loads((tmp_path / "trio" / "evaluation.json").read_text())["nets"] == 3
    assert "| pair + one | ensemble of 3 |" in (tmp_path / "comparison.md").read_text()


def test_eda_writes_charts_and_summary(fer_dir, tmp_path):
    from ml import eda

    eda.main(["--data", str(fer_dir), "--catalog", str(CATALOG), "--out", str(tmp_path)])

    summary = (tmp_path / "summary.md").read_text()
    assert "| disgust | 4 | 4 |" in summary
    assert "| Calm |" in summary
    charts = {p.name for p in tmp_path.glob("*.png")}
    assert {
        "class_distribution.png",
        "class_pie.png",
        "samples.png",
        "pixel_intensity.png",
        "catalog_moods.png",
        "catalog_features_by_mood.png",
        "catalog_correlation.png",
    } <= charts


def warm_started_copy(run_dir: Path, to: Path, *, init_from: Path, version: str) -> Path:
    """A copy of a run folder whose run.json says it began, on JAX, from `init_from` at `version`."""
    import shutil

    copy = shutil.copytree(run_dir, to)
    run = json.loads((copy / "run.json").read_text())
    run["config"]["init_from"] = str(init_from)
    (copy / "run.json").write_text(json.dumps({**run, "init_from_version": version, "backend": "jax"}))
    return copy


def test_ship_keeps_the_card_of_the_shipped_model_its_runs_began_from(artifacts, tiny_run, fer_dir, tmp_path):
    from ml.ship import ship

    shipped_card = json.loads((artifacts / "model_card.json").read_text())
    began_from = {"init_from": artifacts / "emotion_model.keras", "version": shipped_card["version"]}
    first = warm_started_copy(tiny_run[0], tmp_path / "first", **began_from)
    second = warm_started_copy(tiny_run[0], tmp_path / "second", **began_from)

    card = ship(
        first,
        str(fer_dir),
        "v-next",
        report_dir=tmp_path / "report",
        artifacts=artifacts,
        ensemble_with=[second / "model.keras"],
    )

    assert json.loads((artifacts / "model_card.json").read_text()) == card  # the old card is gone from disk...
    assert card["init_from_cards"] == {shipped_card["version"]: shipped_card}  # ...but kept, once, in the new one
    assert card["trained_with"]["backend"] == "jax"
    assert card["ensemble"]["members"][1]["card"]["trained_with"]["backend"] == "jax"


def test_ship_keeps_no_card_for_a_warm_start_whose_file_was_since_replaced(artifacts, tiny_run, fer_dir, tmp_path):
    from ml.ship import ship

    run_dir = warm_started_copy(
        tiny_run[0], tmp_path / "run", init_from=artifacts / "emotion_model.keras", version="emotion-replaced-0"
    )

    card = ship(run_dir, str(fer_dir), "v", report_dir=tmp_path / "report", artifacts=tmp_path / "out")

    assert card["init_from_version"] == "emotion-replaced-0"
    assert card["init_from_cards"] == {}


def test_the_ship_command_refuses_a_member_nothing_describes_in_one_line(
    artifacts, tiny_run, fer_dir, tmp_path, capsys
):
    from ml import ship

    copy = tmp_path / "copy.keras"
    copy.write_bytes((artifacts / "emotion_model.keras").read_bytes())
    argv = ["--run", str(tiny_run[0]), "--data", str(fer_dir), "--version", "v", "--report-dir", str(tmp_path / "r")]

    with pytest.raises(SystemExit) as exit_info:
        ship.main([*argv, "--ensemble-with", str(copy)])

    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("python -m ml.ship: error: Nothing describes") and "Traceback" not in error
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("command", ["evaluate", "ensemble"])
def test_the_evaluation_commands_refuse_a_missing_model_in_one_line(command, fer_dir, tmp_path, capsys):
    import importlib

    module = importlib.import_module(f"ml.{command}")
    flag = "--model" if command == "evaluate" else "--models"

    with pytest.raises(SystemExit) as exit_info:
        module.main([flag, str(tmp_path / "nowhere.keras"), "--data", str(fer_dir), "--out", str(tmp_path / "out")])

    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith(f"python -m ml.{command}: error: ")
    assert not (tmp_path / "out").exists()
