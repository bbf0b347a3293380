import csv
import dataclasses
import json

import numpy as np
import pytest

from ml.training.train import TrainConfig, learning_rate_schedule, parse_args, sample_weights, train


def history_rows(out) -> list[dict]:
    with (out / "history.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_one_epoch_writes_the_history_curves_record_and_model(tiny_run):
    out, model_path = tiny_run
    for name in ("best.keras", "model.keras", "history.csv", "curves.png", "run.json"):
        assert (out / name).is_file(), name
    assert not (out / "backup").exists()  # a finished run leaves no backup behind
    rows = history_rows(out)
    run = json.loads((out / "run.json").read_text())
    assert len(rows) == 1 and {"accuracy", "loss", "val_accuracy", "val_loss", "seconds"} <= rows[0].keys()
    assert run["commands"] == ["python -m ml.training.train --arch tiny"] and run["config"]["seed"] == 1337
    assert model_path == out / "model.keras"


def test_an_interrupted_run_resumes_from_its_backup_with_the_same_command(fer_dir, tmp_path):
    """A run stopped mid-way (its backup left behind, as a killed process leaves it) continues when rerun."""
    import keras

    config = TrainConfig(arch="tiny", data=str(fer_dir), out=str(tmp_path), epochs=3, batch_size=8, backup_steps=1)

    class StopAfterFirstEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    from ml.training import train as train_module

    original = train_module.run_callbacks
    train_module.run_callbacks = lambda *args, **kwargs: [*original(*args, **kwargs), StopAfterFirstEpoch()]
    try:
        with pytest.raises(KeyboardInterrupt):
            train(config, command="first", verbose=0)
    finally:
        train_module.run_callbacks = original
    assert (tmp_path / "backup").is_dir() and not (tmp_path / "model.keras").exists()

    train(config, command="again", verbose=0)

    rows = history_rows(tmp_path)
    assert [int(row["epoch"]) for row in rows] == [0, 1, 2]  # the stopped epoch was not logged twice
    assert json.loads((tmp_path / "run.json").read_text())["commands"] == ["first", "again"]
    assert (tmp_path / "model.keras").is_file() and not (tmp_path / "backup").exists()
    finished = (tmp_path / "model.keras").read_bytes()
    assert train(config, command="once more", verbose=0) == tmp_path / "model.keras"  # finished: nothing to do
    assert (tmp_path / "model.keras").read_bytes() == finished
    with pytest.raises(ValueError, match="another recipe"):
        train(dataclasses.replace(config, epochs=4), verbose=0)


def test_a_backup_is_resumed_only_by_its_own_recipe(fer_dir, tmp_path):
    config = TrainConfig(arch="tiny", data=str(fer_dir), out=str(tmp_path), epochs=1, batch_size=8)
    (tmp_path / "backup").mkdir()
    (tmp_path / "run.json").write_text(json.dumps({"config": dataclasses.asdict(config)}))

    with pytest.raises(ValueError, match="another recipe"):
        train(dataclasses.replace(config, learning_rate=9.0), verbose=0)


def test_the_learning_rate_warms_up_then_decays_to_zero():
    config = TrainConfig(arch="tiny", out="", epochs=10, learning_rate=1.0, warmup_epochs=1)
    schedule = learning_rate_schedule(config, steps_per_epoch=100)

    def at(step):
        return float(schedule(step))

    assert at(0) == pytest.approx(0.0) and at(50) == pytest.approx(0.5) and at(100) == pytest.approx(1.0)
    assert at(550) == pytest.approx(0.5, abs=1e-3)
    assert at(1000) == pytest.approx(0.0, abs=1e-6)


def test_a_warm_start_begins_from_the_given_models_weights(tiny_run, fer_dir, tmp_path):
    import keras

    _, model_path = tiny_run
    config = TrainConfig(
        arch="tiny", data=str(fer_dir), out=str(tmp_path / "warm"), epochs=1, batch_size=8, init_from=str(model_path)
    )
    config.learning_rate = 0.0  # nothing learned: the convolution must still hold the source's kernel

    warm = keras.models.load_model(train(config, command="warm", verbose=0))

    source = keras.models.load_model(model_path)
    np.testing.assert_array_equal(np.asarray(warm.layers[2].kernel), np.asarray(source.layers[2].kernel))
    assert json.loads((tmp_path / "warm" / "run.json").read_text())["config"]["init_from"] == str(model_path)


@pytest.fixture
def tiny_pair(tiny_run, tmp_path):
    """A saved ensemble of two tiny nets whose weights differ: the trained one and a scaled copy."""
    import keras

    from ml.training.models import build_ensemble

    _, model_path = tiny_run
    first = keras.models.load_model(model_path)
    second = keras.models.load_model(model_path)
    second.set_weights([weight * 0.5 for weight in second.get_weights()])
    path = tmp_path / "pair.keras"
    build_ensemble([first, second]).save(path)
    return path, second


def test_a_warm_start_from_an_ensemble_begins_from_the_chosen_net(tiny_pair, fer_dir, tmp_path):
    import keras

    pair_path, second = tiny_pair
    config = TrainConfig(
        arch="tiny", data=str(fer_dir), out=str(tmp_path / "warm"), epochs=1, batch_size=8, learning_rate=0.0
    )
    config.init_from, config.init_member = str(pair_path), 2

    warm = keras.models.load_model(train(config, command="warm", verbose=0))

    np.testing.assert_array_equal(np.asarray(warm.layers[2].kernel), np.asarray(second.layers[2].kernel))
    assert json.loads((tmp_path / "warm" / "run.json").read_text())["config"]["init_member"] == 2


@pytest.mark.parametrize(
    ("member", "message"),
    [(None, "ensemble of 2 nets: choose one with --init-member 1..2"), (3, "between 1 and 2"), (0, "between 1 and 2")],
)
def test_a_warm_start_from_an_ensemble_needs_a_net_that_exists(tiny_pair, fer_dir, tmp_path, member, message):
    pair_path, _ = tiny_pair
    config = TrainConfig(arch="tiny", data=str(fer_dir), out=str(tmp_path / "warm"), epochs=1, batch_size=8)
    config.init_from, config.init_member = str(pair_path), member

    with pytest.raises(ValueError, match=message):
        train(config, verbose=0)
    assert not (tmp_path / "warm").exists()


def test_init_member_without_init_from_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--arch", "tiny", "--data", "d", "--out", "o", "--init-member", "2"])

    assert exit_info.value.code == 2
    assert "pass --init-from as well" in capsys.readouterr().err


def test_a_warm_start_from_another_architecture_is_refused(tiny_run, fer_dir, tmp_path):
    _, model_path = tiny_run
    config = TrainConfig(
        arch="vggnet", width=4, data=str(fer_dir), out=str(tmp_path / "run"), epochs=1, init_from=str(model_path)
    )
    with pytest.raises(ValueError, match="not the same architecture"):
        train(config, verbose=0)


def test_mixed_precision_training_records_its_policy_and_leaves_float32_behind(fer_dir, tmp_path):
    import keras

    config = TrainConfig(
        arch="tiny", data=str(fer_dir), out=str(tmp_path), epochs=1, batch_size=8, precision="mixed_bfloat16"
    )
    model = keras.models.load_model(train(config, verbose=0))

    assert model.layers[2].compute_dtype == "bfloat16"
    assert model.layers[-1].compute_dtype == "float32"  # the softmax stays in full precision
    assert keras.mixed_precision.global_policy().name == "float32"
    assert json.loads((tmp_path / "run.json").read_text())["config"]["precision"] == "mixed_bfloat16"
    with pytest.raises(ValueError, match="precision"):
        train(TrainConfig(arch="tiny", data=str(fer_dir), out=str(tmp_path / "x"), precision="float8"), verbose=0)


def test_without_a_validation_set_the_run_trains_on_all_of_train_and_keeps_its_last_epoch(fer_dir, tmp_path):
    config = TrainConfig(
        arch="tiny", data=str(fer_dir), out=str(tmp_path), epochs=2, batch_size=8, validation_fraction=0.0, patience=1
    )

    train(config, verbose=0)

    from ml.training.cli import history_read

    rows = history_read(tmp_path / "history.csv")
    run = json.loads((tmp_path / "run.json").read_text())
    assert len(rows) == 2 and all("val_accuracy" not in row for row in rows)  # no early stop, no validation
    assert sum(run["counts"]["validation"].values()) == 0
    assert sum(run["counts"]["train"].values()) == len(list(fer_dir.glob("train/*/*")))


def test_a_run_on_ferplus_votes_learns_distributions_and_validates_on_the_publictest_faces(ferplus_dir, tmp_path):
    from ml.training import ferplus

    config = TrainConfig(
        arch="tiny", labels="ferplus", ferplus=str(ferplus_dir), out=str(tmp_path), epochs=1, batch_size=8
    )

    train(config, command="fp", verbose=0)

    run = json.loads((tmp_path / "run.json").read_text())
    train_votes = ferplus.votes_load(ferplus_dir, "train")
    valid_votes = ferplus.votes_load(ferplus_dir, "public-test")
    assert sum(run["counts"]["train"].values()) == len(train_votes)
    assert sum(run["counts"]["validation"].values()) == len(valid_votes)
    assert run["counts"]["left_out"]["not a face"] >= 1
    assert history_rows(tmp_path)[0]["val_accuracy"]


def test_ferplus_labels_need_the_ferplus_folder(tmp_path):
    with pytest.raises(ValueError, match="--ferplus"):
        train(TrainConfig(arch="tiny", labels="ferplus", out=str(tmp_path / "run")), verbose=0)
    with pytest.raises(ValueError, match="--labels"):
        train(TrainConfig(arch="tiny", labels="imagenet", out=str(tmp_path / "run")), verbose=0)
    assert not (tmp_path / "run").exists()


def test_the_command_refuses_a_missing_data_folder_in_one_line(tmp_path, capsys):
    from ml.training.train import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--arch", "tiny", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run"), "--epochs", "1"])

    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("python -m ml.training.train: error: ") and "nowhere/train does not exist" in error
    assert "Traceback" not in error and not (tmp_path / "run").exists()


def test_a_warm_start_that_reads_nan_is_refused_and_leaves_no_run_folder(tiny_run, fer_dir, tmp_path):
    import keras

    _, model_path = tiny_run
    damaged = keras.models.load_model(model_path)
    damaged.set_weights([np.full_like(weight, np.nan) for weight in damaged.get_weights()])
    damaged.save(tmp_path / "damaged.keras")
    config = TrainConfig(
        arch="tiny", data=str(fer_dir), out=str(tmp_path / "run"), epochs=1, init_from=str(tmp_path / "damaged.keras")
    )

    with pytest.raises(ValueError, match=r"reads NaN for real faces with --precision float32"):
        train(config, verbose=0)

    assert not (tmp_path / "run").exists()


def test_sample_weights_balance_the_classes_by_each_faces_leading_emotion():
    targets = np.eye(7, dtype=np.float32)[[0, 0, 0, 1]]
    targets[3] = [0.1, 0.6, 0.3, 0, 0, 0, 0]  # votes: disgust leads
    config = TrainConfig(arch="tiny", out="")

    full = sample_weights(dataclasses.replace(config, balance="weights"), targets)
    dampened = sample_weights(dataclasses.replace(config, balance="sqrt-weights"), targets)

    assert full[3] / full[0] == pytest.approx(3.0) and dampened[3] / dampened[0] == pytest.approx(3**0.5)
    assert sample_weights(dataclasses.replace(config, balance="none"), targets) is None
    with pytest.raises(ValueError, match="--balance"):
        sample_weights(dataclasses.replace(config, balance="magic"), targets)
