import numpy as np
import pytest

from ml.runtime.preprocessing import preprocess_faces, resize_face
from ml.training.data import load_split


def test_training_and_inference_see_identical_arrays(fer_dir):
    from ml.training.train import FaceBatches

    split, _ = load_split(fer_dir, "test")
    targets = np.eye(7, dtype=np.float32)[split.labels]
    batches = FaceBatches(split.images, targets, 8, seed=0, augment=False)
    x_train, y_train = batches[0]
    shown = batches._order[:8]

    # The worker hands in a list of separately cropped faces.
    x_inference = preprocess_faces([face for face in split.images[shown]])

    assert x_train.dtype == np.float32 and x_train.shape == (8, 48, 48, 1)
    np.testing.assert_array_equal(x_train, x_inference)
    assert y_train.argmax(axis=1).tolist() == split.labels[shown].tolist()


def test_faces_of_any_size_and_colour_become_48x48_gray():
    rng = np.random.default_rng(0)
    gray_big = rng.integers(0, 256, (200, 150), np.uint8)
    rgb_small = rng.integers(0, 256, (30, 30, 3), np.uint8)

    batch = preprocess_faces([gray_big, rgb_small])

    assert batch.shape == (2, 48, 48, 1)
    np.testing.assert_array_equal(batch[0, :, :, 0], resize_face(gray_big).astype(np.float32))
    assert batch.min() >= 0 and batch.max() <= 255


def test_a_single_face_and_an_empty_list():
    assert preprocess_faces(np.zeros((64, 64), np.uint8)).shape == (1, 48, 48, 1)
    assert preprocess_faces([]).shape == (0, 48, 48, 1)


def test_a_malformed_face_is_refused():
    with pytest.raises(ValueError, match="grayscale"):
        preprocess_faces([np.zeros((4, 4, 4, 4), np.uint8)])
