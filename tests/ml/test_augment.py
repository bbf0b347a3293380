import numpy as np

from ml.training.augment import AugmentConfig, augment_batch


def test_augmentation_keeps_shape_and_type_and_is_reproducible(fer_dir):
    from ml.training.data import load_split

    split, _ = load_split(fer_dir, "train")
    first = augment_batch(split.images, np.random.default_rng(7))
    second = augment_batch(split.images, np.random.default_rng(7))

    assert first.shape == split.images.shape and first.dtype == np.uint8
    np.testing.assert_array_equal(first, second)
    assert (first != split.images).any(axis=(1, 2)).all()


def test_a_flip_alone_mirrors_the_face():
    face = np.tile(np.arange(48, dtype=np.uint8), (48, 1))
    config = AugmentConfig(rotation_degrees=0, zoom=0, shift=0, brightness=0, crop_padding=0, erase_probability=0)
    outputs = {augment_batch(face[None], np.random.default_rng(seed), config)[0].tobytes() for seed in range(20)}
    assert outputs == {face.tobytes(), face[:, ::-1].tobytes()}
