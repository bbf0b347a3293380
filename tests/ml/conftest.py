from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FER_FIXTURES = FIXTURES / "fer2013"
FACE_PHOTOS = FIXTURES / "faces"
FERPLUS_FIXTURES = FIXTURES / "ferplus"


@pytest.fixture(scope="session")
def fer_dir() -> Path:
    return FER_FIXTURES


@pytest.fixture(scope="session")
def ferplus_dir() -> Path:
    """A few faces of each FER+ split with their real votes (MIT, tests/fixtures/ferplus/LICENSE.md)."""
    return FERPLUS_FIXTURES


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, fer_dir):
    """One epoch of the tiny model on the fixture images, trained once for the whole session."""
    from ml.training.train import TrainConfig, train

    out = tmp_path_factory.mktemp("tiny-run")
    config = TrainConfig(arch="tiny", data=str(fer_dir), out=str(out), epochs=1, batch_size=8)
    model_path = train(config, command="python -m ml.training.train --arch tiny", verbose=0)
    return out, model_path
