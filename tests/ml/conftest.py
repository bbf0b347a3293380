from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FER_FIXTURES = FIXTURES / "fer2013"
FACE_PHOTOS = FIXTURES / "faces"


@pytest.fixture(scope="session")
def fer_dir() -> Path:
    return FER_FIXTURES


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, fer_dir):
    """One epoch of the tiny model on the fixture images, trained once for the whole session."""
    from ml.train import TrainConfig, train

    out = tmp_path_factory.mktemp("tiny-run")
    config = TrainConfig(arch="tiny", data=str(fer_dir), out=str(out), epochs=1, batch_size=8)
    model_path = train(config, command="python -m ml.train --arch tiny", verbose=0)
    return out, model_path
