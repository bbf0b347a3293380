"""The report tools end to end on the fixture images: compare, ensemble, EDA."""

import json
from pathlib import Path

import pytest

CATALOG = Path(__file__).resolve().parents[2] / "catalog" / "seed" / "data_moods.csv"


def test_compare_writes_the_table_and_chart(tiny_run, fer_dir, tmp_path):
    from ml.training import compare, evaluate

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
    from ml.training import ensemble, evaluate

    _, model_path = tiny_run
    alone_command = ["--model", str(model_path), "--data", str(fer_dir), "--out", str(tmp_path / "alone")]
    evaluate.main([*alone_command, "--modes", "plain", "--split", "public-test"])
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
    assert together["nets"] == 2 and together["images"] == 14  # PublicTest alone


def test_an_ensemble_with_an_ensemble_counts_its_nets_in_the_comparison(tiny_run, fer_dir, tmp_path):
    from ml.training import compare, ensemble
    from ml.training.models import build_ensemble, load_model

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
    from ml.training import eda

    eda.main(["--data", str(fer_dir), "--catalog", str(CATALOG), "--out", str(tmp_path)])

    summary = (tmp_path / "summary.md").read_text()
    assert "| disgust | 4 | 6 |" in summary  # 4 training faces; 4 PrivateTest and 2 PublicTest
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


@pytest.mark.parametrize("command", ["evaluate", "ensemble"])
def test_the_evaluation_commands_refuse_a_missing_model_in_one_line(command, fer_dir, tmp_path, capsys):
    import importlib

    module = importlib.import_module(f"ml.training.{command}")
    flag = "--model" if command == "evaluate" else "--models"

    with pytest.raises(SystemExit) as exit_info:
        module.main([flag, str(tmp_path / "nowhere.keras"), "--data", str(fer_dir), "--out", str(tmp_path / "out")])

    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith(f"python -m ml.training.{command}: error: ")
    assert not (tmp_path / "out").exists()
