import dataclasses
import json

import numpy as np
import pytest

from ml.train import TrainConfig, learning_rate_at, parse_args, train


def test_one_epoch_writes_checkpoint_history_curves_and_model(tiny_run):
    out, model_path = tiny_run
    for name in ("checkpoint.keras", "best.keras", "model.keras", "history.json", "curves.png", "run.json"):
        assert (out / name).is_file(), name
    history = json.loads((out / "history.json").read_text())
    run = json.loads((out / "run.json").read_text())
    assert len(history) == 1 and {"accuracy", "loss", "val_accuracy", "val_loss"} <= history[0].keys()
    assert run["command"] == "python -m ml.train --arch tiny" and run["seed"] == 1337
    assert model_path == out / "model.keras"


def test_keras_round_trip_predicts_the_same(tiny_run, tmp_path):
    import keras

    _, model_path = tiny_run
    model = keras.models.load_model(model_path)
    x = np.random.default_rng(0).uniform(0, 255, (4, 48, 48, 1)).astype(np.float32)
    model.save(tmp_path / "again.keras")
    again = keras.models.load_model(tmp_path / "again.keras")
    np.testing.assert_allclose(model.predict_on_batch(x), again.predict_on_batch(x), rtol=1e-6)


def test_resume_continues_after_the_last_epoch(tiny_run, tmp_path):
    import shutil

    out, _ = tiny_run
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    config = TrainConfig(
        arch="tiny", data=json.loads((copy / "state.json").read_text())["config"]["data"], out=str(copy), epochs=2
    )
    train(config, resume=True, command="resume", verbose=0)

    state = json.loads((copy / "state.json").read_text())
    assert state["epoch"] == 2 and [r["epoch"] for r in state["history"]] == [1, 2]
    assert state["commands"][-1] == "resume"
    with pytest.raises(FileExistsError, match="--resume"):
        train(config, command="again", verbose=0)


def test_learning_rate_warms_up_then_decays_to_zero():
    config = TrainConfig(arch="tiny", data="", out="", epochs=10, learning_rate=1.0, warmup_epochs=1)
    assert learning_rate_at(0, 100, config) == pytest.approx(0.01)
    assert learning_rate_at(99, 100, config) == pytest.approx(1.0)
    assert learning_rate_at(550, 100, config) == pytest.approx(0.5)
    assert learning_rate_at(1000, 100, config) == pytest.approx(0.0)


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

    from ml.models import build_ensemble

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
    (pair_path.parent / "model_card.json").write_text(json.dumps({"file": "pair.keras", "version": "pair-1"}))

    warm = keras.models.load_model(train(config, command="warm", verbose=0))

    np.testing.assert_array_equal(np.asarray(warm.layers[2].kernel), np.asarray(second.layers[2].kernel))
    run = json.loads((tmp_path / "warm" / "run.json").read_text())
    assert run["config"]["init_member"] == 2
    assert run["init_from_version"] == "pair-1"  # which shipped model it was, once that file is replaced


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
    assert not (tmp_path / "warm" / "checkpoint.keras").exists()


def test_init_member_without_init_from_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--arch", "tiny", "--data", "d", "--out", "o", "--init-member", "2"])

    assert exit_info.value.code == 2
    assert "pass --init-from as well" in capsys.readouterr().err


def test_a_warm_start_from_another_architecture_is_refused(tiny_run, fer_dir, tmp_path):
    _, model_path = tiny_run
    config = TrainConfig(
        arch="vggnet", width=4, data=str(fer_dir), out=str(tmp_path), epochs=1, init_from=str(model_path)
    )
    with pytest.raises(ValueError, match="not the same architecture"):
        train(config, verbose=0)


def test_mixed_precision_training_records_its_policy_and_leaves_float32_behind(fer_dir, tmp_path):
    import keras

    config = TrainConfig(
        arch="tiny", data=str(fer_dir), out=str(tmp_path), epochs=1, batch_size=8, precision="mixed_bfloat16"
    )
    try:
        model = keras.models.load_model(train(config, verbose=0))
    finally:
        keras.mixed_precision.set_global_policy("float32")

    assert model.layers[2].compute_dtype == "bfloat16"
    assert model.layers[-1].compute_dtype == "float32"  # the softmax stays in full precision
    assert json.loads((tmp_path / "run.json").read_text())["config"]["precision"] == "mixed_bfloat16"
    with pytest.raises(ValueError, match="precision"):
        train(TrainConfig(arch="tiny", data=str(fer_dir), out=str(tmp_path / "x"), precision="float8"), verbose=0)


def test_without_a_validation_set_the_run_trains_on_all_of_train_and_keeps_its_last_epoch(fer_dir, tmp_path):
    config = TrainConfig(
        arch="tiny", data=str(fer_dir), out=str(tmp_path), epochs=2, batch_size=8, validation_fraction=0.0, patience=1
    )

    model_path = train(config, verbose=0)

    state = json.loads((tmp_path / "state.json").read_text())
    run = json.loads((tmp_path / "run.json").read_text())
    assert state["epoch"] == 2 and state["best_epoch"] == 2  # no early stop, the last epoch kept
    assert all("val_accuracy" not in record for record in state["history"])
    assert sum(run["validation_counts"].values()) == 0
    assert sum(run["train_counts"].values()) == len(list(fer_dir.glob("train/*/*")))
    assert model_path.read_bytes() == (tmp_path / "best.keras").read_bytes()


def test_the_command_refuses_a_missing_data_folder_in_one_line(tmp_path, capsys):
    from ml.train import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--arch", "tiny", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run"), "--epochs", "1"])

    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("python -m ml.train: error: ") and "nowhere/train does not exist" in error
    assert "Traceback" not in error and not (tmp_path / "run").exists()


def test_the_command_refuses_a_folder_that_holds_a_run_and_leaves_it_alone(tiny_run, fer_dir, capsys):
    from ml.train import main

    out, _ = tiny_run
    checkpoint = (out / "checkpoint.keras").read_bytes()

    with pytest.raises(SystemExit) as exit_info:
        main(["--arch", "tiny", "--data", str(fer_dir), "--out", str(out), "--epochs", "1"])

    assert exit_info.value.code == 2
    assert "already holds a run: pass --resume" in capsys.readouterr().err
    assert (out / "checkpoint.keras").read_bytes() == checkpoint


def test_a_refused_warm_start_leaves_no_run_folder(fer_dir, tmp_path):
    config = TrainConfig(
        arch="tiny", data=str(fer_dir), out=str(tmp_path / "run"), epochs=1, init_from=str(tmp_path / "gone.keras")
    )

    with pytest.raises(ValueError, match=r"gone\.keras"):
        train(config, verbose=0)

    assert not (tmp_path / "run").exists()


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


def test_a_resumed_run_keeps_its_recipe_and_only_a_longer_epochs_extends_it(tiny_run, tmp_path):
    from ml.train import TrainConfig, run_state_resumed

    out, _ = tiny_run
    asked = TrainConfig(arch="vggnet", data="elsewhere", out=str(out), epochs=5, learning_rate=9.0)

    config, state = run_state_resumed(asked, out, "python -m ml.train --resume")

    assert config.arch == "tiny" and config.learning_rate != 9.0  # the run's own recipe
    assert config.epochs == 5 and config.data == "elsewhere" and state["config"]["epochs"] == 5
    assert state["commands"][-1] == "python -m ml.train --resume"
    shorter, _ = run_state_resumed(dataclasses.replace(asked, epochs=0), out, None)
    assert shorter.epochs == 1


def test_balance_weights_follow_the_recipe():
    import numpy as np

    from ml.train import TrainConfig, balance_weights

    labels = np.array([0, 0, 0, 1])
    config = TrainConfig(arch="tiny", data="", out="")

    full = balance_weights(dataclasses.replace(config, balance="weights"), labels)
    dampened = balance_weights(dataclasses.replace(config, balance="sqrt-weights"), labels)

    assert full[1] / full[0] == pytest.approx(3.0) and dampened[1] / dampened[0] == pytest.approx(3**0.5)
    assert balance_weights(dataclasses.replace(config, balance="oversample"), labels) is None
    with pytest.raises(ValueError, match="--balance"):
        balance_weights(dataclasses.replace(config, balance="magic"), labels)
