import json
import re

import numpy as np
import pytest

from ml.training.evaluate import classification_metrics, confusion_matrix, predict_probabilities, tta_views


def test_metrics_match_a_hand_computed_confusion_matrix():
    # Three classes' worth of a 7-class problem:
    # true 0: predicted 0, 0, 1   true 1: predicted 1, 0   true 2: predicted 2
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 0, 2])
    probabilities = np.full((6, 7), 0.05)
    probabilities[np.arange(6), y_pred] = 0.7

    metrics = classification_metrics(y_true, probabilities)

    expected = np.zeros((7, 7), int)
    expected[0, 0], expected[0, 1], expected[1, 1], expected[1, 0], expected[2, 2] = 2, 1, 1, 1, 1
    assert metrics["confusion_matrix"] == expected.tolist()
    assert metrics["accuracy"] == pytest.approx(4 / 6)
    angry, disgust, fear = (metrics["per_class"][k] for k in ("angry", "disgust", "fear"))
    assert angry["precision"] == pytest.approx(2 / 3) and angry["recall"] == pytest.approx(2 / 3)
    assert disgust["precision"] == pytest.approx(1 / 2) and disgust["recall"] == pytest.approx(1 / 2)
    assert disgust["f1"] == pytest.approx(0.5)
    assert fear["f1"] == pytest.approx(1.0) and fear["support"] == 1
    assert metrics["per_class"]["happy"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    # Loss: four right answers at p=0.7, two wrong ones at p=0.05.
    assert metrics["loss"] == pytest.approx((4 * -np.log(0.7) + 2 * -np.log(0.05)) / 6)


def test_confusion_matrix_counts_rows_as_truth():
    assert confusion_matrix([1, 1], [0, 1], 2).tolist() == [[0, 0], [1, 1]]


def test_tta_views_and_averaging():
    batch = np.random.default_rng(0).uniform(0, 255, (3, 48, 48, 1)).astype(np.float32)
    assert len(tta_views(batch, "plain")) == 1
    flip = tta_views(batch, "flip")
    np.testing.assert_array_equal(flip[1], batch[:, :, ::-1])
    crops = tta_views(batch, "tencrop")
    assert len(crops) == 10 and all(crop.shape == batch.shape for crop in crops)
    np.testing.assert_array_equal(crops[0], batch)  # the centre crop of the padded face is the face
    moved = tta_views(batch, "vshift")
    assert len(moved) == 6 and all(view.shape == batch.shape for view in moved)
    np.testing.assert_array_equal(moved[0], batch)
    np.testing.assert_array_equal(moved[1][:, 2:], batch[:, :-2])  # moved 2 pixels down
    np.testing.assert_array_equal(moved[1][:, :2], batch[:, 2:0:-1])  # the rows moved in are the edge reflected
    np.testing.assert_array_equal(moved[2][:, :-2], batch[:, 2:])  # up
    for view, mirror in zip(moved[:3], moved[3:], strict=True):
        np.testing.assert_array_equal(mirror, view[:, :, ::-1])

    def left_half_brightness(x):
        return np.repeat(x[:, :, :24].mean(axis=(1, 2, 3))[:, None], 7, axis=1)

    averaged = predict_probabilities(left_half_brightness, batch, "flip")
    expected = (left_half_brightness(batch) + left_half_brightness(batch[:, :, ::-1])) / 2
    np.testing.assert_allclose(averaged, expected, rtol=1e-6)
    with pytest.raises(ValueError, match="Unknown TTA mode"):
        tta_views(batch, "rotate")


def test_the_evaluate_command_reports_public_test_private_test_and_all_apart(tiny_run, fer_dir, tmp_path, capsys):
    import json

    from ml.training import evaluate

    _, model_path = tiny_run
    evaluate.main(["--model", str(model_path), "--data", str(fer_dir), "--modes", "flip", "--out", str(tmp_path)])

    halves = json.loads((tmp_path / "evaluation.json").read_text())["halves"]["flip"]
    assert [halves[name]["images"] for name in ("public_test", "private_test", "all_test")] == [14, 28, 42]
    for metrics in halves.values():
        low, high = metrics["interval_95"]
        assert low <= metrics["accuracy"] <= high
    assert "private_test" in capsys.readouterr().out


def test_the_evaluate_command_scores_public_test_alone_for_choosing(tiny_run, fer_dir, tmp_path, capsys):
    import json

    from ml.training import evaluate

    _, model_path = tiny_run
    evaluate.main(
        ["--model", str(model_path), "--data", str(fer_dir), "--split", "public-test", "--out", str(tmp_path)]
    )

    evaluation = json.loads((tmp_path / "evaluation.json").read_text())
    assert evaluation["split"] == "public-test" and evaluation["images"] == 14
    # No machine's path: the data by its variable, a model outside the repository by its folder and name.
    assert evaluation["data"] == "$FER_DATA"
    assert evaluation["model"] == f"{model_path.parent.name}/{model_path.name}"
    assert evaluation["halves"] == {}
    assert np.asarray(evaluation["results"]["flip"]["confusion_matrix"]).sum() == 14
    assert "private_test" not in capsys.readouterr().out


def test_the_evaluate_command_refuses_a_limit_on_public_test_in_one_line(tiny_run, fer_dir, capsys):
    from ml.training import evaluate

    _, model_path = tiny_run
    with pytest.raises(SystemExit) as exit_info:
        evaluate.main(
            ["--model", str(model_path), "--data", str(fer_dir), "--split", "public-test", "--limit-per-class", "2"]
        )

    assert exit_info.value.code == 2
    assert "not to public-test" in capsys.readouterr().err


def test_the_evaluate_command_scores_ferplus_majority_labels_beside_fer2013s(
    tiny_run, fer_dir, ferplus_dir, tmp_path, capsys
):
    from ml.training import evaluate, ferplus

    _, model_path = tiny_run

    evaluate.main(
        [
            *("--model", str(model_path), "--data", str(fer_dir), "--ferplus", str(ferplus_dir)),
            *("--modes", "plain", "--out", str(tmp_path)),
        ]
    )

    report = json.loads((tmp_path / "evaluation.json").read_text())["ferplus"]["plain"]
    private = ferplus.votes_load(ferplus_dir, "private-test")
    assert set(report) == {"public-test", "private-test"}
    assert report["private-test"]["majority"]["images"] == len(private.scored())
    assert report["private-test"]["faces"] == len(private)
    assert report["private-test"]["faces_without_majority"] == len(private) - len(private.scored())
    assert 0.0 <= report["private-test"]["plurality_accuracy"] <= 1.0
    assert re.search(r"plain FER\+ private-test +majority [01]\.\d{4}", capsys.readouterr().out)
