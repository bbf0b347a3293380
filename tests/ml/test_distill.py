"""ml.distill: the loss, the teacher's cached targets, and a run end to end on the fixture images."""

import csv
import json

import numpy as np
import pytest


def test_the_loss_is_zero_when_the_student_matches_the_teacher_and_only_soft_targets_count():
    from ml.distill import DistillationLoss, distillation_targets

    teacher = np.array([[0.7, 0.1, 0.05, 0.05, 0.04, 0.03, 0.03]], dtype="float32")
    targets = distillation_targets(np.array([3]), teacher)

    loss = DistillationLoss(temperature=4.0, alpha=1.0)

    assert float(loss(targets, teacher)) == pytest.approx(0.0, abs=1e-5)
    assert float(loss(targets, np.roll(teacher, 1, axis=1))) > 0.01


def test_the_loss_is_the_hard_labels_cross_entropy_when_alpha_is_zero():
    from ml.distill import DistillationLoss, distillation_targets

    student = np.array([[0.1, 0.1, 0.1, 0.4, 0.1, 0.1, 0.1]], dtype="float32")
    targets = distillation_targets(np.array([3]), np.full((1, 7), 1 / 7, dtype="float32"))

    assert float(DistillationLoss(alpha=0.0)(targets, student)) == pytest.approx(-np.log(0.4), rel=1e-4)


def test_the_loss_softens_both_sides_by_the_temperature():
    from ml.distill import DistillationLoss, distillation_targets

    teacher = np.array([[0.9, 0.02, 0.02, 0.02, 0.02, 0.01, 0.01]], dtype="float32")
    student = np.array([[0.5, 0.2, 0.1, 0.1, 0.05, 0.03, 0.02]], dtype="float32")
    targets = distillation_targets(np.array([0]), teacher)

    def soften(p, t):
        z = np.exp(np.log(p) / t)
        return z / z.sum()

    t = 3.0
    expected = t**2 * np.sum(soften(teacher, t) * (np.log(soften(teacher, t)) - np.log(soften(student, t))))
    assert float(DistillationLoss(temperature=t, alpha=1.0)(targets, student)) == pytest.approx(expected, rel=1e-3)


@pytest.fixture(scope="module")
def teacher(tiny_run, fer_dir, tmp_path_factory):
    """A two-net teacher stored the way ml.ensemble --save stores one."""
    from ml import ensemble

    out = tmp_path_factory.mktemp("teacher")
    _, model_path = tiny_run
    models = ["--models", str(model_path), str(model_path)]
    ensemble.main(
        [*models, "--data", str(fer_dir), "--out", str(out), "--modes", "plain", "--save", str(out / "t.keras")]
    )
    return out / "t.keras"


def distill_config(teacher, fer_dir, out, **changes):
    from ml.distill import DistillConfig

    return DistillConfig(
        teacher=str(teacher),
        data=str(fer_dir),
        out=str(out),
        arch="tiny",
        width=None,
        epochs=2,
        batch_size=8,
        init_member="1",
        **changes,
    )


@pytest.fixture(scope="module")
def distilled(teacher, fer_dir, tmp_path_factory):
    from ml.distill import distill

    out = tmp_path_factory.mktemp("student")
    path = distill(distill_config(teacher, fer_dir, out), command="python -m ml.distill ...", verbose=0)
    return out, path


def test_a_distillation_run_keeps_its_record_history_best_epoch_and_teacher_targets(distilled, fer_dir):
    from ml.models import load_model

    out, path = distilled
    run = json.loads((out / "run.json").read_text())
    with (out / "history.csv").open() as rows:
        history = list(csv.DictReader(rows))
    cached = np.load(out / "teacher_train.npz")

    assert path == out / "model.keras" and (out / "best.keras").is_file()
    assert load_model(path).output_shape == (None, 7)
    assert run["validation"] == "PublicTest" and sum(run["validation_counts"].values()) == 14
    assert run["init_member"] == 1 and run["command"] == "python -m ml.distill ..."
    assert [row["epoch"] for row in history] == ["0", "1"] and "val_hard_accuracy" in history[0]
    assert cached["probabilities"].shape == (28, 7)
    np.testing.assert_allclose(cached["probabilities"].sum(axis=1), 1.0, rtol=1e-4)
    assert not (out / "backup").exists()  # BackupAndRestore drops its backup once the run has finished


def test_the_teacher_targets_are_computed_once_per_run_folder(distilled, teacher, monkeypatch):
    from ml import distill

    out, _ = distilled
    version = json.loads((out / "run.json").read_text())["teacher_version"]
    before = np.load(out / "teacher_train.npz")["probabilities"]

    def must_not_predict(*args, **kwargs):
        raise AssertionError("the cached targets should have been used")

    monkeypatch.setattr(distill, "predict_probabilities", must_not_predict)
    images = np.zeros((28, 48, 48), np.uint8)
    again = distill.teacher_probabilities(None, images, cache=out / "teacher_train.npz", version=version)
    np.testing.assert_array_equal(again, before)


def test_distillation_refuses_a_folder_holding_another_recipe(distilled, teacher, fer_dir):
    from ml.distill import distill

    out, _ = distilled
    with pytest.raises(FileExistsError, match="another recipe"):
        distill(distill_config(teacher, fer_dir, out, temperature=2.0), verbose=0)


def test_the_distill_command_refuses_a_missing_teacher_in_one_line(fer_dir, tmp_path, capsys):
    from ml import distill

    with pytest.raises(SystemExit) as exit_info:
        distill.main(["--teacher", str(tmp_path / "nowhere.keras"), "--data", str(fer_dir), "--out", str(tmp_path)])

    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("python -m ml.distill: error: ")


def test_a_distillation_run_leaves_keras_precision_as_it_found_it(distilled):
    import keras

    assert keras.mixed_precision.global_policy().name == "float32"
