"""ml.distill: the loss, the teacher's cached targets, and a run end to end on the fixture images."""

import csv
import json

import numpy as np
import pytest

from ml.augment import AugmentConfig


def test_the_loss_is_zero_when_the_student_matches_the_teacher_and_only_soft_targets_count():
    from ml.distill import DistillationLoss, distillation_targets

    teacher = np.array([[0.7, 0.1, 0.05, 0.05, 0.04, 0.03, 0.03]], dtype="float32")
    targets = distillation_targets(np.array([3]), teacher)

    loss = DistillationLoss(temperature=4.0, alpha=1.0)

    assert float(loss(targets, teacher)) == pytest.approx(0.0, abs=1e-5)
    assert float(loss(targets, np.roll(teacher, 1, axis=1))) > 0.01


def test_the_loss_is_the_hard_labels_cross_entropy_when_alpha_is_zero():
    from ml.distill import DistillationLoss, distillation_targets

    student = np.array([[0.1, 0.1, 0.1, 0.4, 0.1, 0.1, 0.1]], dtype="float32")
    targets = distillation_targets(np.array([3]), np.full((1, 7), 1 / 7, dtype="float32"))

    assert float(DistillationLoss(alpha=0.0)(targets, student)) == pytest.approx(-np.log(0.4), rel=1e-4)


def test_the_loss_softens_both_sides_by_the_temperature():
    from ml.distill import DistillationLoss, distillation_targets

    teacher = np.array([[0.9, 0.02, 0.02, 0.02, 0.02, 0.01, 0.01]], dtype="float32")
    student = np.array([[0.5, 0.2, 0.1, 0.1, 0.05, 0.03, 0.02]], dtype="float32")
    targets = distillation_targets(np.array([0]), teacher)

    def soften(p, t):
        z = np.exp(np.log(p) / t)
        return z / z.sum()

    t = 3.0
    expected = t**2 * np.sum(soften(teacher, t) * (np.log(soften(teacher, t)) - np.log(soften(student, t))))
    assert float(DistillationLoss(temperature=t, alpha=1.0)(targets, student)) == pytest.approx(expected, rel=1e-3)


@pytest.fixture(scope="module")
def teacher(tiny_run, fer_dir, tmp_path_factory):
    """A two-net teacher stored the way ml.ensemble --save stores one."""
    from ml import ensemble

    out = tmp_path_factory.mktemp("teacher")
    _, model_path = tiny_run
    models = ["--models", str(model_path), str(model_path)]
    ensemble.main(
        [*models, "--data", str(fer_dir), "--out", str(out), "--modes", "plain", "--save", str(out / "t.keras")]
    )
    return out / "t.keras"


def distill_config(teacher, fer_dir, out, **changes):
    from ml.distill import DistillConfig

    return DistillConfig(
        teacher=str(teacher),
        data=str(fer_dir),
        out=str(out),
        **{"arch": "tiny", "width": None, "epochs": 2, "batch_size": 8, "init_member": "1", **changes},
    )


@pytest.fixture(scope="module")
def distilled(teacher, fer_dir, tmp_path_factory):
    from ml.distill import distill

    out = tmp_path_factory.mktemp("student")
    path = distill(distill_config(teacher, fer_dir, out), command="python -m ml.distill ...", verbose=0)
    return out, path


def test_a_distillation_run_keeps_its_record_history_best_epoch_and_teacher_targets(distilled, fer_dir):
    from ml.models import load_model

    out, path = distilled
    run = json.loads((out / "run.json").read_text())
    with (out / "history.csv").open() as rows:
        history = list(csv.DictReader(rows))
    cached = np.load(out / "teacher_train.npz")

    assert path == out / "model.keras" and (out / "best.keras").is_file()
    assert load_model(path).output_shape == (None, 7)
    assert run["validation"] == "PublicTest" and sum(run["validation_counts"].values()) == 14
    assert run["init_member"] == 1 and run["command"] == "python -m ml.distill ..."
    assert [row["epoch"] for row in history] == ["0", "1"] and "val_hard_accuracy" in history[0]
    assert cached["probabilities"].shape == (28, 7)
    np.testing.assert_allclose(cached["probabilities"].sum(axis=1), 1.0, rtol=1e-4)
    assert not (out / "backup").exists()  # BackupAndRestore drops its backup once the run has finished


def test_the_teacher_targets_are_computed_once_per_run_folder(distilled, teacher, monkeypatch):
    from ml import distill

    out, _ = distilled
    version = json.loads((out / "run.json").read_text())["teacher_version"]
    before = np.load(out / "teacher_train.npz")["probabilities"]

    def must_not_predict(*args, **kwargs):
        raise AssertionError("the cached targets should have been used")

    monkeypatch.setattr(distill, "predict_probabilities", must_not_predict)
    images = np.zeros((28, 48, 48), np.uint8)
    again = distill.teacher_probabilities(None, images, cache=out / "teacher_train.npz", version=version)
    np.testing.assert_array_equal(again, before)


def test_distillation_refuses_a_folder_holding_another_recipe(distilled, teacher, fer_dir):
    from ml.distill import distill

    out, _ = distilled
    with pytest.raises(FileExistsError, match="another recipe"):
        distill(distill_config(teacher, fer_dir, out, temperature=2.0), verbose=0)


def test_a_run_recorded_before_a_setting_existed_resumes_with_that_settings_default(teacher, fer_dir, tmp_path):
    """A run.json without ema_momentum (written before the option) is the same recipe as the option left unset."""
    import dataclasses

    from ml.distill import distill

    config = distill_config(teacher, fer_dir, tmp_path)
    older = dataclasses.asdict(config)
    del older["ema_momentum"]
    (tmp_path / "run.json").write_text(json.dumps({"config": older}))

    with pytest.raises(FileExistsError, match="another recipe"):
        distill(distill_config(teacher, fer_dir, tmp_path, ema_momentum=0.9), verbose=0)
    assert distill(config, verbose=0) == tmp_path / "model.keras"


def test_a_student_that_reads_nan_is_refused_before_the_run_is_recorded(teacher, fer_dir, tmp_path):
    """A warm start that makes the student read NaN (here a damaged teacher) stops the run before run.json."""
    import keras

    from ml.distill import distill
    from ml.models import load_model

    damaged = load_model(teacher)
    damaged.set_weights([np.full_like(weight, np.nan) for weight in damaged.get_weights()])
    damaged.save(tmp_path / "damaged.keras")

    refusal = r"tiny reads NaN for real faces with --precision mixed_bfloat16 .* use --precision float32"
    with pytest.raises(ValueError, match=refusal):
        distill(distill_config(tmp_path / "damaged.keras", fer_dir, tmp_path / "run"), verbose=0)
    assert not (tmp_path / "run" / "run.json").exists()
    assert keras.mixed_precision.global_policy().name == "float32"


def test_the_distill_command_refuses_a_missing_teacher_in_one_line(fer_dir, tmp_path, capsys):
    from ml import distill

    with pytest.raises(SystemExit) as exit_info:
        distill.main(["--teacher", str(tmp_path / "nowhere.keras"), "--data", str(fer_dir), "--out", str(tmp_path)])

    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("python -m ml.distill: error: ")


def test_a_distillation_run_leaves_keras_precision_as_it_found_it(distilled):
    import keras

    assert keras.mixed_precision.global_policy().name == "float32"


@pytest.fixture(scope="module")
def distilled_from_a_bank(teacher, fer_dir, tmp_path_factory):
    from ml.distill import distill

    out = tmp_path_factory.mktemp("student-bank")
    config = distill_config(teacher, fer_dir, out, teacher_views="bank", bank_views=3, precision="float32")
    return out, distill(config, command="python -m ml.distill --teacher-views bank ...", verbose=0)


def test_a_run_from_the_teachers_bank_keeps_each_view_and_its_targets(distilled_from_a_bank):
    from ml.models import load_model

    out, path = distilled_from_a_bank
    run = json.loads((out / "run.json").read_text())
    with (out / "history.csv").open() as rows:
        history = list(csv.DictReader(rows))
    stored = [np.load(out / f"teacher_bank_{k}.npz") for k in range(3)]

    assert load_model(path).output_shape == (None, 7)
    assert run["teacher_targets"] == "3 augmented views of each training face, read once"
    assert run["config"]["bank_views"] == 3 and 0 <= run["teacher_train_accuracy"] <= 1
    assert [row["epoch"] for row in history] == ["0", "1"]
    assert not (out / "teacher_bank_3.npz").exists() and not (out / "teacher_train.npz").exists()
    for view in stored:
        assert view["views"].shape == (28, 48, 48) and view["views"].dtype == np.uint8
        assert view["probabilities"].shape == (28, 7)
        np.testing.assert_allclose(view["probabilities"].sum(axis=1), 1.0, rtol=1e-4)
    # Three different draws of the augmentation, not one view stored three times.
    assert not np.array_equal(stored[0]["views"], stored[1]["views"])
    assert not np.array_equal(stored[1]["views"], stored[2]["views"])


def test_the_bank_holds_the_teachers_reading_of_each_stored_view(distilled_from_a_bank):
    from ml.distill import TEACHER_TTA
    from ml.evaluate import keras_predictor, predict_probabilities
    from ml.models import load_model
    from ml.preprocessing import preprocess_faces

    out, _ = distilled_from_a_bank
    teacher = load_model(json.loads((out / "run.json").read_text())["config"]["teacher"])
    view = np.load(out / "teacher_bank_1.npz")

    read = predict_probabilities(keras_predictor(teacher), preprocess_faces(view["views"]), TEACHER_TTA)
    np.testing.assert_allclose(view["probabilities"], read, atol=1e-5)


def test_a_resumed_bank_run_reads_the_views_made_and_makes_only_the_missing_ones(
    distilled_from_a_bank, fer_dir, monkeypatch
):
    from ml import data as fer_data
    from ml import distill
    from ml.augment import AugmentConfig

    out, _ = distilled_from_a_bank
    run = json.loads((out / "run.json").read_text())
    train, _ = fer_data.load_split(str(fer_dir), "train")
    before = [np.load(out / f"teacher_bank_{k}.npz")["probabilities"] for k in range(3)]
    made = []

    def count_predictions(predict, batch, mode="plain"):
        made.append(len(batch))
        return np.full((len(batch), 7), 1 / 7, "float32")

    monkeypatch.setattr(distill, "predict_probabilities", count_predictions)
    views, probabilities = distill.teacher_bank(
        None,
        train.images,
        views=4,
        seed=run["config"]["seed"],
        augment=AugmentConfig(),
        folder=out,
        version=run["teacher_version"],
    )

    assert made == [28]  # the fourth view only
    assert views.shape == (4, 28, 48, 48) and probabilities.shape == (4, 28, 7)
    for k in range(3):
        np.testing.assert_array_equal(probabilities[k], before[k])
    np.testing.assert_allclose(probabilities[3], 1 / 7)


def test_a_bank_view_made_for_another_teacher_or_seed_is_made_again(tmp_path, monkeypatch):
    from ml import distill
    from ml.augment import AugmentConfig

    faces = np.random.default_rng(0).integers(0, 256, (5, 48, 48), dtype=np.uint8)
    calls = []

    def read(predict, batch, mode="plain"):
        calls.append(mode)
        return np.full((len(batch), 7), 1 / 7, "float32")

    monkeypatch.setattr(distill, "predict_probabilities", read)

    def bank(**changes):
        settings = {"views": 1, "seed": 1, "augment": AugmentConfig(), "folder": tmp_path, "version": "t-1"}
        return distill.teacher_bank(None, faces, **{**settings, **changes})

    first, _ = bank()
    again, _ = bank()
    assert calls == ["flip"]  # read once, with the site's TTA
    np.testing.assert_array_equal(first, again)
    bank(version="t-2")
    bank(version="t-2", seed=2)
    assert len(calls) == 3


def test_bank_batches_show_a_stored_view_or_its_mirror_with_that_views_targets():
    from ml.distill import NUM_CLASSES, BankBatches

    rng = np.random.default_rng(3)
    views = rng.integers(0, 256, (3, 10, 48, 48), dtype=np.uint8)
    teacher = rng.dirichlet(np.ones(NUM_CLASSES), size=(3, 10)).astype("float32")
    labels = np.arange(10) % NUM_CLASSES
    batches = BankBatches(
        views, labels, teacher, 4, seed=5, weights=np.linspace(1, 2, NUM_CLASSES), config=AugmentConfig()
    )

    shown = set()
    mirrors = 0
    for _epoch in range(4):
        for index in range(len(batches)):
            faces, targets, weights = batches[index]
            for face, target, weight in zip(faces[..., 0], targets, weights, strict=True):
                label = int(np.argmax(target[:NUM_CLASSES]))
                matches = [
                    (k, i, mirrored)
                    for k in range(3)
                    for i in range(10)
                    for mirrored in (False, True)
                    if np.array_equal(face, views[k, i, :, ::-1] if mirrored else views[k, i])
                ]
                assert matches, "every face shown is a stored view or its mirror image"
                k, i, mirrored = matches[0]
                np.testing.assert_allclose(target[NUM_CLASSES:], teacher[k, i])
                assert label == labels[i] and weight == pytest.approx(np.linspace(1, 2, NUM_CLASSES)[label])
                shown.add(k)
                mirrors += mirrored
        batches.on_epoch_end()
    assert shown == {0, 1, 2} and 0 < mirrors < 40


def test_the_distill_command_takes_the_banks_views():
    from ml.distill import parse_args

    args = parse_args(["--teacher", "t", "--data", "d", "--out", "o", "--teacher-views", "bank", "--bank-views", "6"])
    assert args.teacher_views == "bank" and args.bank_views == 6


def test_a_bank_of_no_views_is_refused_before_the_run_is_recorded(teacher, fer_dir, tmp_path):
    from ml.distill import distill

    config = distill_config(teacher, fer_dir, tmp_path / "run", teacher_views="bank", bank_views=0)
    with pytest.raises(ValueError, match="--bank-views must be at least 1"):
        distill(config, verbose=0)
    assert not (tmp_path / "run" / "run.json").exists()


@pytest.fixture(scope="module")
def distilled_on_each_view(teacher, fer_dir, tmp_path_factory):
    from ml.distill import distill

    out = tmp_path_factory.mktemp("student-each")
    config = distill_config(teacher, fer_dir, out, teacher_views="each", precision="float32")
    return out, distill(config, command="python -m ml.distill --teacher-views each ...", verbose=0)


def test_a_run_with_the_teacher_on_each_view_saves_the_student_alone_and_its_history(distilled_on_each_view):
    from ml.models import load_model

    out, path = distilled_on_each_view
    run = json.loads((out / "run.json").read_text())
    with (out / "history.csv").open() as rows:
        history = list(csv.DictReader(rows))

    student = load_model(out / "best.keras")
    assert path == out / "model.keras" and student.output_shape == (None, 7) and student.name == "tiny"
    assert run["teacher_targets"] == "each augmented view, every step" and "teacher_train_accuracy" not in run
    assert [row["epoch"] for row in history] == ["0", "1"]
    assert {"hard_accuracy", "val_hard_accuracy", "seconds"} <= set(history[0])
    assert not (out / "teacher_train.npz").exists()


def test_the_best_epochs_student_is_the_one_saved_from_the_pair(distilled_on_each_view, fer_dir):
    """best.keras holds the student weights ModelCheckpoint kept for the pair's best validation epoch."""
    import keras

    from ml.distill import ConsistentTeaching, augmentation_layers
    from ml.models import build_model, load_model

    out, _ = distilled_on_each_view
    teacher = load_model(json.loads((out / "run.json").read_text())["config"]["teacher"])
    pair = ConsistentTeaching(build_model("tiny"), teacher, augmentation_layers(AugmentConfig(), 1), dtype="float32")
    pair(np.zeros((1, 48, 48, 1), "float32"))
    pair.load_weights(out / "best.weights.h5")
    saved = keras.models.load_model(out / "best.keras", compile=False)

    for kept, stored in zip(pair.student.get_weights(), saved.get_weights(), strict=True):
        np.testing.assert_array_equal(kept, stored)


def test_with_a_weight_average_each_epoch_is_kept_with_the_averaged_weights(teacher, fer_dir, tmp_path):
    """Keras's average starts from the weights after the first step; at momentum 1 it never leaves them.
    So the student kept sits one warm-up step (Adam moves a weight at most about the rate, here 0.05 / 100)
    from the teacher's first net, where the same run without the average moves far from it."""
    from ml.distill import distill
    from ml.models import ensemble_members, load_model

    start = ensemble_members(load_model(teacher))[0]

    def largest_move(out, **changes):
        config = distill_config(teacher, fer_dir, out, teacher_views="each", precision="float32", **changes)
        distill(config, verbose=0)
        kept = load_model(out / "best.keras")
        return max(
            float(np.abs(np.asarray(a) - np.asarray(b)).max())
            for a, b in zip(kept.trainable_weights, start.trainable_weights, strict=True)
        )

    averaged = largest_move(tmp_path / "averaged", learning_rate=0.05, ema_momentum=1.0)
    trained = largest_move(tmp_path / "trained", learning_rate=0.05)

    assert averaged <= 0.0005 * 1.1
    assert trained > 0.005
    assert json.loads((tmp_path / "averaged" / "run.json").read_text())["config"]["ema_momentum"] == 1.0
    assert not (tmp_path / "averaged" / "backup").exists()


@pytest.mark.parametrize("momentum", [None, 0.0, 0.998])
def test_the_optimizer_averages_the_weights_at_the_momentum_asked_for(teacher, fer_dir, tmp_path, momentum):
    from ml.distill import student_compile
    from ml.models import build_model

    model = student_compile(build_model("tiny"), distill_config(teacher, fer_dir, tmp_path, ema_momentum=momentum), 10)

    assert model.optimizer.use_ema == (momentum is not None)
    if momentum is not None:
        assert model.optimizer.ema_momentum == momentum


def test_the_distill_command_takes_the_weight_averages_momentum():
    from ml.distill import parse_args

    assert parse_args(["--teacher", "t", "--data", "d", "--out", "o", "--ema-momentum", "0.998"]).ema_momentum == 0.998
    assert parse_args(["--teacher", "t", "--data", "d", "--out", "o"]).ema_momentum is None


def test_the_pair_outputs_the_students_and_the_mirrored_teachers_probabilities_side_by_side(teacher):
    from ml.distill import ConsistentTeaching, augmentation_layers
    from ml.models import build_model, load_model

    teacher_model = load_model(teacher)
    student = build_model("tiny")
    pair = ConsistentTeaching(student, teacher_model, augmentation_layers(AugmentConfig(), 1), dtype="float32")
    faces = np.random.default_rng(0).uniform(0, 255, (3, 48, 48, 1)).astype("float32")

    out = np.asarray(pair(faces, training=False))

    expected_teacher = (np.asarray(teacher_model(faces)) + np.asarray(teacher_model(faces[:, :, ::-1]))) / 2
    np.testing.assert_allclose(out[:, :7], np.asarray(student(faces)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[:, 7:], expected_teacher, rtol=1e-5, atol=1e-6)
    assert pair.teacher.trainable is False and not pair.teacher.trainable_weights


def test_training_views_are_augmented_and_inference_views_are_not():
    from ml.distill import augmentation_layers

    augment = augmentation_layers(AugmentConfig(), 7)
    faces = np.random.default_rng(1).uniform(0, 255, (8, 48, 48, 1)).astype("float32")

    np.testing.assert_array_equal(np.asarray(augment(faces, training=False)), faces)
    trained = np.asarray(augment(faces, training=True))
    assert trained.shape == faces.shape and trained.dtype == np.float32
    assert not np.allclose(trained, faces) and trained.min() >= 0 and trained.max() <= 255


def test_the_consistent_loss_is_the_cached_loss_with_the_teacher_taken_from_the_output():
    from ml.distill import ConsistentDistillationLoss, DistillationLoss, distillation_targets

    teacher = np.array([[0.05, 0.05, 0.1, 0.5, 0.1, 0.1, 0.1]], dtype="float32")
    student = np.array([[0.1, 0.1, 0.1, 0.3, 0.2, 0.1, 0.1]], dtype="float32")
    hard = np.eye(7, dtype="float32")[[3]]

    cached = DistillationLoss(4.0, 0.7)(distillation_targets(np.array([3]), teacher), student)
    consistent = ConsistentDistillationLoss(4.0, 0.7)(hard, np.concatenate([student, teacher], axis=1))

    assert float(consistent) == pytest.approx(float(cached), rel=1e-6)


def test_the_epoch_timer_stops_a_run_before_the_epoch_that_would_overrun(monkeypatch):
    from ml import distill

    clock = iter([0.0, 0.0, 30.0, 30.0, 65.0])
    monkeypatch.setattr(distill.time, "monotonic", lambda: next(clock))
    timer = distill.EpochTimer(limit_minutes=1.5)
    timer.set_model(type("Model", (), {"stop_training": False})())
    logs_first, logs_second = {}, {}

    timer.on_train_begin()
    timer.on_epoch_begin(0)
    timer.on_epoch_end(0, logs_first)  # 30 s done, another 30 s fits in 90
    assert timer.model.stop_training is False
    timer.on_epoch_begin(1)
    timer.on_epoch_end(1, logs_second)  # 65 s done, another 35 s would reach 100

    assert timer.model.stop_training is True
    assert logs_first["seconds"] == 30.0 and logs_second["seconds"] == 35.0


def test_random_affine_without_ranges_leaves_the_face_as_it_is():
    from ml.distill import RandomAffine

    still = RandomAffine(AugmentConfig(rotation_degrees=0, zoom=0, shift=0, crop_padding=0), seed=1)
    faces = np.random.default_rng(2).uniform(0, 255, (4, 48, 48, 1)).astype("float32")

    np.testing.assert_allclose(np.asarray(still(faces, training=True)), faces, atol=1e-3)


def test_random_affine_turns_and_zooms_about_the_centre_and_shifts_within_its_range():
    from ml.distill import RandomAffine

    config = AugmentConfig(rotation_degrees=15, zoom=0.15, shift=0.1, crop_padding=4)
    warp = RandomAffine(config, seed=3)
    dot = np.zeros((64, 48, 48, 1), "float32")
    dot[:, 22:26, 22:26] = 255.0  # a bright square at the centre

    moved = np.asarray(warp(dot, training=True))[..., 0]

    reach = 0.1 * 48 + 4 + 2  # the shift, the crop's pixels, and the square's half side
    for face in moved:
        y, x = np.unravel_index(np.argmax(face), face.shape)
        assert abs(x - 23.5) <= reach and abs(y - 23.5) <= reach
    offsets = [np.unravel_index(np.argmax(face), face.shape) for face in moved]
    assert len(set(offsets)) > 10  # each face its own draw
    np.testing.assert_array_equal(np.asarray(warp(dot, training=False)), dot)


def test_random_affine_records_only_the_ranges_it_draws_and_rebuilds_from_them():
    from ml.distill import RandomAffine

    warp = RandomAffine(AugmentConfig(rotation_degrees=15, zoom=0.15, shift=0.1, crop_padding=4), seed=5)

    config = warp.get_config()
    again = RandomAffine.from_config(config)

    assert config["config"] == {"rotation_degrees": 15.0, "zoom": 0.15, "shift": 0.1, "crop_padding": 4}
    assert (again.rotation, again.zoom, again.shift, again.crop, again.seed) == (
        warp.rotation,
        warp.zoom,
        warp.shift,
        warp.crop,
        5,
    )


def test_a_wider_student_starts_as_the_teachers_net_widened(fer_dir, tmp_path):
    from ml.data import load_split
    from ml.distill import student_build
    from ml.models import build_ensemble, build_model

    nets = [build_model("vggnet", width=4) for _ in range(2)]
    teacher = build_ensemble(nets)
    config = distill_config("unused.keras", fer_dir, tmp_path, arch="vggnet", width=6, init_member="2")
    faces = np.random.default_rng(0).uniform(0, 255, (4, 48, 48, 1)).astype(np.float32)

    student, chosen = student_build(config, teacher, load_split(fer_dir, "test")[0])

    assert chosen == {"init_member": 2, "widened_from": 4}
    assert student.count_params() > 2 * nets[1].count_params()
    np.testing.assert_allclose(student.predict(faces, verbose=0), nets[1].predict(faces, verbose=0), atol=1e-5)
