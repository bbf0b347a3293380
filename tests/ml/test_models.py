import numpy as np
import pytest

from ml.training.models import ARCHITECTURES, build_model

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


def test_vgg16_from_scratch_draws_he_scaled_kernels():
    # Glorot-scaled kernels (what keras.applications draws) kept VGG16 at chance from scratch.
    model = build_model("vgg16")
    convs = [layer for layer in model.get_layer("vgg16").layers if isinstance(layer, keras.layers.Conv2D)]

    assert len(convs) == 13
    for conv in convs:
        kernel = np.asarray(conv.kernel)
        fan_in = np.prod(kernel.shape[:-1])
        assert np.std(kernel) == pytest.approx(np.sqrt(2.0 / fan_in), rel=0.1), conv.name
        assert not np.any(np.asarray(conv.bias))


def test_weights_are_refused_for_models_trained_from_scratch():
    with pytest.raises(ValueError, match="trained from scratch"):
        build_model("vggnet", weights="imagenet")
    with pytest.raises(ValueError, match="Unknown architecture"):
        build_model("alexnet")


def test_copy_weights_crosses_precisions():
    from ml.training.models import copy_weights

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        mixed = build_model("vggnet", width=4)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    plain = build_model("vggnet", width=4)
    x = np.random.default_rng(1).uniform(0, 255, (3, 48, 48, 1)).astype(np.float32)

    copy_weights(mixed, plain)

    assert plain.layers[2].compute_dtype == "float32" and mixed.layers[2].compute_dtype == "bfloat16"
    for source, target in zip(mixed.weights, plain.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(source), np.asarray(target))
    # bfloat16 keeps ~3 significant digits: the two agree on the probabilities to about that.
    np.testing.assert_allclose(plain.predict_on_batch(x), mixed.predict_on_batch(x), atol=0.05)


def test_a_net_that_reads_faces_passes_the_inference_check():
    from ml.training.models import inference_check

    faces = np.random.default_rng(2).uniform(0, 255, (8, 48, 48, 1)).astype(np.float32)

    inference_check(build_model("tiny"), faces, precision="float32")


def test_a_net_whose_compiled_inference_reads_nan_is_refused_with_the_precision_to_use():
    from ml.training.models import inference_check

    reads_nan = keras.Sequential(
        [keras.Input((48, 48, 1)), keras.layers.Rescaling(float("nan")), keras.layers.Flatten(), keras.layers.Dense(7)],
        name="reads_nan",
    )
    faces = np.random.default_rng(2).uniform(0, 255, (8, 48, 48, 1)).astype(np.float32)

    refusal = r"reads_nan reads NaN .* --precision mixed_bfloat16 .* use --precision float32"
    with pytest.raises(ValueError, match=refusal):
        inference_check(reads_nan, faces, precision="mixed_bfloat16")


def test_copy_weights_refuses_another_architecture():
    from ml.training.models import copy_weights

    with pytest.raises(ValueError, match="not the same architecture"):
        copy_weights(build_model("vggnet", width=4), build_model("vggnet", width=8))
    with pytest.raises(ValueError, match="not the same architecture"):
        copy_weights(build_model("tiny"), build_model("vggnet", width=4))


def test_loading_a_mixed_precision_model_gives_the_same_network_in_float32(tmp_path):
    from ml.training.export import to_float32
    from ml.training.models import load_model

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        mixed = build_model("vggnet", width=4)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    mixed.save(tmp_path / "mixed.keras")
    x = np.random.default_rng(2).uniform(0, 255, (3, 48, 48, 1)).astype(np.float32)

    loaded = load_model(tmp_path / "mixed.keras")

    assert {layer.compute_dtype for layer in loaded.layers} == {"float32"}
    np.testing.assert_allclose(loaded.predict_on_batch(x), mixed.predict_on_batch(x), atol=0.05)
    plain = build_model("tiny")
    assert to_float32(plain) is plain


def test_an_ensemble_averages_its_members_and_loads_in_float32(tmp_path):
    from ml.training.export import to_float32
    from ml.training.models import build_ensemble, build_tiny, load_model

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        mixed = build_tiny()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    other = build_tiny()
    faces = np.random.default_rng(1).uniform(0, 255, (4, 48, 48, 1)).astype("float32")
    expected = (to_float32(mixed).predict(faces, verbose=0) + other.predict(faces, verbose=0)) / 2

    build_ensemble([mixed, other]).save(tmp_path / "ensemble.keras")
    loaded = load_model(tmp_path / "ensemble.keras")

    np.testing.assert_allclose(loaded.predict(faces, verbose=0), expected, rtol=1e-5, atol=1e-6)
    members = [layer for layer in loaded.layers if isinstance(layer, keras.Model)]
    assert [member.name for member in members] == ["member_1", "member_2"]
    assert {layer.compute_dtype for member in members for layer in member.layers if layer.weights} == {"float32"}
    with pytest.raises(ValueError, match="at least two"):
        build_ensemble([other])


def test_an_ensemble_member_that_is_an_ensemble_joins_as_its_nets(tmp_path):
    from ml.training.models import build_ensemble, build_tiny, ensemble_members, load_model

    nets = [build_tiny() for _ in range(3)]
    faces = np.random.default_rng(2).uniform(0, 255, (4, 48, 48, 1)).astype("float32")
    expected = np.mean([net.predict(faces, verbose=0) for net in nets], axis=0)
    build_ensemble(nets[:2]).save(tmp_path / "pair.keras")

    trio = build_ensemble([nets[2], load_model(tmp_path / "pair.keras")])

    # Nested, the old pair would weigh 1/4 each and the new net 1/2.
    np.testing.assert_allclose(trio.predict(faces, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert [member.name for member in ensemble_members(trio)] == ["member_1", "member_2", "member_3"]
    assert ensemble_members(nets[0]) == [nets[0]]


def test_a_model_saved_for_inference_stores_float16_and_computes_in_float32(tmp_path):
    from ml.training.export import save_for_inference
    from ml.training.models import build_model, load_model

    model = build_model("vggnet", width=8)
    faces = np.random.default_rng(4).uniform(0, 255, (4, 48, 48, 1)).astype("float32")
    model.save(tmp_path / "float32.keras")

    save_for_inference(model, tmp_path / "float16.keras")

    stored = keras.models.load_model(tmp_path / "float16.keras", compile=False)
    assert {weight.dtype for weight in stored.weights} == {"float16"}
    loaded = load_model(tmp_path / "float16.keras")
    assert {weight.dtype for weight in loaded.weights} == {"float32"}
    assert {layer.compute_dtype for layer in loaded.layers} == {"float32"}
    np.testing.assert_allclose(loaded.predict(faces, verbose=0), model.predict(faces, verbose=0), atol=1e-2)
    saved_bytes = (tmp_path / "float32.keras").stat().st_size - (tmp_path / "float16.keras").stat().st_size
    assert saved_bytes >= 0.95 * 2 * model.count_params()  # two bytes a weight


def test_a_model_saved_for_inference_is_a_deflated_archive_that_predicts_the_same(tmp_path):
    import zipfile

    from ml.training.export import save_for_inference
    from ml.training.models import build_model, load_model

    model = build_model("vggnet", width=8)
    faces = np.random.default_rng(5).uniform(0, 255, (4, 48, 48, 1)).astype("float32")
    target = tmp_path / "model.keras"

    save_for_inference(model, target)

    with zipfile.ZipFile(target) as archive:
        members = archive.infolist()
    assert {member.compress_type for member in members} == {zipfile.ZIP_DEFLATED}
    weights = next(member for member in members if member.filename == "model.weights.h5")
    assert weights.compress_size < weights.file_size
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.keras"]  # no uncompressed copy left behind
    np.testing.assert_allclose(load_model(target).predict(faces, verbose=0), model.predict(faces, verbose=0), atol=1e-2)


def test_a_weight_beyond_float16_is_refused_rather_than_saved_as_infinity(tmp_path):
    from ml.training.export import save_for_inference
    from ml.training.models import build_tiny

    model = build_tiny()
    kernel = model.weights[0]
    kernel.assign(np.full(kernel.shape, 1e6, dtype="float32"))

    with pytest.raises(ValueError, match="does not fit in float16"):
        save_for_inference(model, tmp_path / "model.keras")
    assert not (tmp_path / "model.keras").exists()


def test_a_model_saved_for_inference_keeps_bfloat16s_precision_in_its_float16_weights(tmp_path):
    import ml_dtypes

    from ml.training.export import save_for_inference
    from ml.training.models import build_model

    model = build_model("vggnet", width=8)
    weights = [np.random.default_rng(6).normal(0, 0.1, w.shape).astype("float32") for w in model.weights]
    model.set_weights(weights)

    save_for_inference(model, tmp_path / "model.keras")

    stored = keras.models.load_model(tmp_path / "model.keras", compile=False).get_weights()
    for original, kept in zip(weights, stored, strict=True):
        assert kept.dtype == np.float16
        expected = original.astype(ml_dtypes.bfloat16).astype(np.float16)
        np.testing.assert_array_equal(kept, expected)
        assert np.all(np.abs(kept - original) <= np.abs(original) * 2**-8 + 1e-7)


def _with_random_batch_norm_statistics(model, seed=1):
    """Trained-looking batch-norm layers: fresh ones are the identity and would hide a wrong channel map."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.5, 2.0, gamma.shape),
                    rng.normal(size=beta.shape),
                    rng.normal(size=mean.shape),
                    rng.uniform(0.5, 2.0, variance.shape),
                ]
            )
    return model


def test_a_widened_net_reads_every_face_as_the_narrow_net_it_grew_from():
    from ml.training.models import widen_weights

    narrow = _with_random_batch_norm_statistics(build_model("vggnet", width=4))
    wide = build_model("vggnet", width=6)
    faces = np.random.default_rng(0).uniform(0, 255, (8, 48, 48, 1)).astype(np.float32)

    widen_weights(narrow, wide, seed=3)

    assert wide.count_params() > 2 * narrow.count_params()
    np.testing.assert_allclose(wide.predict(faces, verbose=0), narrow.predict(faces, verbose=0), atol=1e-5)


def test_a_widened_nets_copied_filters_leave_with_unequal_weights_so_training_can_tell_them_apart():
    from ml.training.models import widen_weights

    narrow = build_model("vggnet", width=4)
    wide = build_model("vggnet", width=6)
    widen_weights(narrow, wide, seed=3)
    first, second = wide.get_layer("stage1a_conv").get_weights()[0], wide.get_layer("stage1b_conv").get_weights()[0]
    narrow_first = narrow.get_layer("stage1a_conv").get_weights()[0]

    # The two new filters of the first layer copy two of the four old ones ...
    copied = [
        next(old for old in range(4) if np.array_equal(first[..., new], narrow_first[..., old])) for new in (4, 5)
    ]
    # ... and the next layer reads each copy through weights that differ from its original's.
    for new, old in zip((4, 5), copied, strict=True):
        assert not np.allclose(second[:, :, new, :], second[:, :, old, :])


def test_widening_refuses_a_narrower_net_another_architecture_or_another_number_of_classes():
    from ml.training.models import widen_weights

    with pytest.raises(ValueError, match="narrower"):
        widen_weights(build_model("vggnet", width=6), build_model("vggnet", width=4))
    with pytest.raises(ValueError, match="not the same chain"):
        widen_weights(build_model("tiny"), build_model("vggnet", width=4))
    with pytest.raises(ValueError, match="outputs"):
        widen_weights(build_model("vggnet", width=4), build_model("vggnet", width=4, num_classes=5))
