import numpy as np
import pytest

from ml.models import ARCHITECTURES, build_model

keras = pytest.importorskip("keras")


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_every_architecture_builds_and_trains_a_step(arch):
    model = build_model(arch)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    x = np.random.default_rng(0).uniform(0, 255, (2, 48, 48, 1)).astype(np.float32)
    y = keras.utils.to_categorical([0, 1], 7)

    loss = model.train_on_batch(x, y)
    probabilities = model.predict_on_batch(x)

    assert model.input_shape == (None, 48, 48, 1)
    assert probabilities.shape == (2, 7)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert np.isfinite(loss)


def test_width_scales_the_vgg_style_net():
    narrow, wide = build_model("vggnet", width=8), build_model("vggnet", width=16)
    assert narrow.get_layer("stage4b_conv").filters == 64 and wide.get_layer("stage4b_conv").filters == 128
    with pytest.raises(ValueError, match="--width applies to"):
        build_model("vgg16", width=8)


def test_weights_are_refused_for_models_trained_from_scratch():
    with pytest.raises(ValueError, match="trained from scratch"):
        build_model("vggnet", weights="imagenet")
    with pytest.raises(ValueError, match="Unknown architecture"):
        build_model("alexnet")
