import json

import numpy as np
import pytest

from ml.train import TrainConfig, learning_rate_at, train


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
