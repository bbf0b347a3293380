"""ml.training.distill: Keras's Distiller on FER+'s votes, end to end on the fixture faces."""

import json

import numpy as np
import pytest

from ml.training.cli import history_read


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    """A two-net teacher stored the way ml.training.ensemble --save stores one (two narrow VGG-style nets)."""
    import keras

    from ml.training.export import save_for_inference
    from ml.training.models import build_ensemble, build_model

    keras.utils.set_random_seed(7)
    nets = [build_model("vggnet", width=4) for _ in range(2)]
    path = tmp_path_factory.mktemp("teacher") / "teacher.keras"
    save_for_inference(build_ensemble(nets), path)
    return path


@pytest.fixture(scope="module")
def distilled(teacher, ferplus_dir, tmp_path_factory):
    from ml.training.distill import DistillConfig, distill

    out = tmp_path_factory.mktemp("student")
    config = DistillConfig(
        teacher=str(teacher),
        out=str(out),
        ferplus=str(ferplus_dir),
        width=4,
        epochs=2,
        batch_size=16,
        precision="float32",
        backup_steps=1,
    )
    return out, distill(config, command="python -m ml.training.distill --teacher t", verbose=0)


def test_a_run_saves_the_student_alone_its_record_and_history(distilled):
    from ml.training.models import ensemble_members, load_model

    out, best = distilled
    student = load_model(best)
    run = json.loads((out / "run.json").read_text())
    history = history_read(out / "history.csv")

    assert best == out / "best.keras" and len(ensemble_members(student)) == 1
    assert student.name != "distiller" and student.output_shape == (None, 7)
    assert run["commands"] == ["python -m ml.training.distill --teacher t"] and run["config"]["alpha"] == 0.7
    assert [row["epoch"] for row in history] == [1, 2]
    assert {"distillation_loss", "student_loss", "val_accuracy"} <= history[0].keys()
    assert not (out / "backup").exists()


def test_the_teachers_term_counts(distilled):
    """Keras 3.15's default "kl_divergence" string reads 0.0 whatever the logits; the loss must not."""
    out, _ = distilled
    assert all(row["distillation_loss"] > 0 for row in history_read(out / "history.csv"))


def test_the_teacher_reads_a_face_and_its_mirror_as_log_probabilities(teacher):
    import keras

    from ml.training.distill import teacher_logits
    from ml.training.models import load_model

    net = load_model(teacher)
    faces = np.random.default_rng(1).uniform(0, 255, (3, 48, 48, 1)).astype("float32")

    logits = np.asarray(teacher_logits(net)(faces))

    mean = (np.asarray(net(faces)) + np.asarray(net(faces[:, :, ::-1]))) / 2
    np.testing.assert_allclose(logits, np.log(mean), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(keras.ops.softmax(logits)), mean, rtol=1e-4, atol=1e-6)


def test_a_finished_run_is_not_run_again(distilled, teacher, ferplus_dir):
    from ml.training.distill import DistillConfig, distill

    out, best = distilled
    stored = best.read_bytes()
    config = DistillConfig(teacher=str(teacher), out=str(out), ferplus=str(ferplus_dir), width=4)

    assert distill(config, verbose=0) == best and best.read_bytes() == stored


def test_a_student_warm_started_from_a_teacher_net_begins_with_its_weights(teacher, ferplus_dir, tmp_path):
    from ml.training.distill import DistillConfig, student_new
    from ml.training.models import ensemble_members, load_model

    config = DistillConfig(
        teacher=str(teacher), out=str(tmp_path), ferplus=str(ferplus_dir), width=4, init_from=str(teacher)
    )
    config.init_member = 2

    student = student_new(config)

    second = ensemble_members(load_model(teacher))[1]
    for mine, theirs in zip(student.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6)


def test_the_distill_command_refuses_a_missing_teacher_in_one_line(ferplus_dir, tmp_path, capsys):
    from ml.training.distill import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--teacher", str(tmp_path / "gone.keras"), "--ferplus", str(ferplus_dir), "--out", str(tmp_path / "r")])

    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("python -m ml.training.distill: error: ") and "Traceback" not in error


def test_the_distill_command_refuses_an_alpha_outside_zero_to_one(capsys):
    from ml.training.distill import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--teacher", "t", "--out", "o", "--alpha", "1.5"])
    assert "--alpha is a weight between 0 and 1" in capsys.readouterr().err


def test_a_run_leaves_keras_precision_as_it_found_it(teacher, ferplus_dir, tmp_path):
    import keras

    from ml.training.distill import DistillConfig, distill

    config = DistillConfig(
        teacher=str(teacher), out=str(tmp_path), ferplus=str(ferplus_dir), width=4, epochs=1, batch_size=16
    )
    distill(config, verbose=0)

    assert keras.mixed_precision.global_policy().name == "float32"
