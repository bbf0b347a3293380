"""Distil an ensemble teacher into one net (Hinton et al. 2015).

    python -m ml.distill --teacher ml/teachers/emotion-vggnet32x7-bf16-2026.11/emotion_model.keras \
        --data "$FER_DATA" --out runs/student --epochs 20

The teacher reads faces with the site's TTA (the mean of the face and its
mirror image), in one of three ways (`--teacher-views`):

- `once`: the teacher reads every training face once, unaugmented; its
  probabilities are cached in the run folder, and the student trains on
  augmented faces against those fixed targets. Cheap on a CPU.
- `each`: the teacher reads the very view the student is shown, every step
  ("consistent teaching", Beyer et al. 2022). The augmentation then runs as
  Keras layers inside the step, on the accelerator, and the student learns
  the teacher's answer for faces it was never trained on. About five times
  the compute of `once` per epoch: meant for a GPU.
- `bank`: the teacher reads `--bank-views` augmented views of every training
  face once, before the first epoch; the views and the teacher's
  probabilities are kept in the run folder, one file per view. Each epoch the
  student is shown one of a face's views, at random, or its mirror image
  (the teacher's reading of a view is the mean over the view and its mirror,
  so it is the exact target for both). The targets are the teacher's answers
  for the very faces the student sees, as with `each`, from a fixed set of
  views, and an epoch costs what one with `once` costs: a long schedule fits
  on a CPU.

The student trains against a mix of the teacher's softened probabilities and
the hard labels. Validation is
FER-2013's PublicTest half; PrivateTest is never read here, so nothing this
command chooses is chosen on it (`ml.ship` reports it once).

Keras's own pieces do the bookkeeping: `CosineDecay` with warm-up for the
learning rate, `BackupAndRestore` for resuming an interrupted run (rerun the
same command), `ModelCheckpoint` for the best epoch, `EarlyStopping`, and
`CSVLogger` for the history.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from keras import layers

from ml import data as fer_data
from ml.augment import AugmentConfig, augment_batch
from ml.cli import refusals_as_errors
from ml.evaluate import classification_metrics, keras_predictor, predict_probabilities
from ml.export import to_mixed_bfloat16
from ml.inference import read_model_card
from ml.labels import LABELS
from ml.models import (
    build_model,
    copy_weights,
    ensemble_members,
    inference_check,
    load_model,
    weighted_layers,
    widen_weights,
)
from ml.preprocessing import INPUT_SHAPE, preprocess_faces

NUM_CLASSES = len(LABELS)
TEACHER_TTA = "flip"
TEACHER_VIEWS = ("once", "each", "bank")


@dataclasses.dataclass
class DistillConfig:
    teacher: str
    data: str
    out: str
    arch: str = "vggnet"
    width: int | None = 32
    epochs: int = 20
    batch_size: int = 128
    learning_rate: float = 1e-3
    weight_decay: float = 0.05
    warmup_epochs: float = 1.0
    temperature: float = 4.0
    # Weight of the teacher's soft targets; the hard labels get the rest.
    alpha: float = 0.9
    patience: int = 6
    seed: int = 2026
    precision: str = "mixed_bfloat16"
    # Warm start from one of the teacher's nets (1-based), "best" for the one with the best
    # validation accuracy, or none to start from scratch.
    init_member: str = "best"
    erase_probability: float = 0.5
    limit_per_class: int | None = None
    # "once": cached targets on unaugmented faces; "each": the teacher reads every augmented view;
    # "bank": the teacher reads `bank_views` augmented views of each face once, and epochs draw from them.
    teacher_views: str = "once"
    bank_views: int = 4
    # Stop after the epoch that would overrun this many minutes (the best epoch is kept); None: no limit.
    time_limit_minutes: float | None = None
    # Momentum of the optimizer's moving average of the student's weights (Polyak averaging, Keras's
    # `use_ema`); each epoch is then evaluated, kept and saved with the averaged weights. None: no average.
    ema_momentum: float | None = None


@keras.saving.register_keras_serializable(package="ml.distill")
class DistillationLoss(keras.losses.Loss):
    """alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * cross-entropy on the hard labels.

    `y_true` is the hard one-hot label and the teacher's probabilities side by
    side, (N, 2 * classes). The student outputs probabilities, so its logits
    are their logarithm (softmax is invariant to the constant that drops).
    """

    def __init__(self, temperature: float = 4.0, alpha: float = 0.9, name: str = "distillation", **kwargs):
        super().__init__(name=name, **kwargs)
        self.temperature = float(temperature)
        self.alpha = float(alpha)

    def call(self, y_true, y_pred):
        hard, teacher = y_true[:, :NUM_CLASSES], y_true[:, NUM_CLASSES:]
        return distillation_loss(hard, y_pred, teacher, self.temperature, self.alpha)

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature, "alpha": self.alpha}


@keras.saving.register_keras_serializable(package="ml.distill")
class ConsistentDistillationLoss(DistillationLoss):
    """The same loss when the model outputs the student's and the teacher's probabilities side by side
    (`ConsistentTeaching`), and `y_true` is the hard one-hot label alone."""

    def call(self, y_true, y_pred):
        student, teacher = y_pred[:, :NUM_CLASSES], y_pred[:, NUM_CLASSES:]
        return distillation_loss(y_true, student, teacher, self.temperature, self.alpha)


def distillation_loss(hard, student, teacher, temperature: float, alpha: float):
    """Per-face loss from probabilities: the teacher's and the student's, softened by `temperature`."""
    ops = keras.ops
    student_log = ops.log(ops.clip(ops.cast(student, "float32"), 1e-7, 1.0))
    teacher_log = ops.log(ops.clip(ops.cast(teacher, "float32"), 1e-7, 1.0))
    soft_teacher = ops.softmax(teacher_log / temperature, axis=-1)
    soft_student_log = ops.log_softmax(student_log / temperature, axis=-1)
    kl = ops.sum(soft_teacher * (ops.log(ops.clip(soft_teacher, 1e-7, 1.0)) - soft_student_log), axis=-1)
    cross_entropy = -ops.sum(hard * student_log, axis=-1)
    return alpha * temperature**2 * kl + (1 - alpha) * cross_entropy


@keras.saving.register_keras_serializable(package="ml.distill")
def hard_accuracy(y_true, y_pred):
    """Accuracy against the hard label half of a distillation target."""
    ops = keras.ops
    return ops.cast(ops.argmax(y_true[:, :NUM_CLASSES], axis=-1) == ops.argmax(y_pred, axis=-1), "float32")


class DistillBatches(keras.utils.PyDataset):
    """Shuffled, augmented faces with (hard label | teacher probabilities) targets and class weights."""

    def __init__(self, images, labels, teacher, batch_size: int, *, seed: int, weights, config: AugmentConfig):
        super().__init__()
        self.images, self.labels, self.teacher = images, labels, teacher
        self.batch_size, self.seed, self.weights, self.config = batch_size, seed, weights, config
        self.epoch = 0
        self.order = np.random.default_rng([seed, 0]).permutation(len(labels))

    def __len__(self) -> int:
        return math.ceil(len(self.labels) / self.batch_size)

    def __getitem__(self, index: int):
        chosen = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        faces = preprocess_faces(augment_batch(self.images[chosen], rng, self.config))
        return faces, distillation_targets(self.labels[chosen], self.teacher[chosen]), self.weights[self.labels[chosen]]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.labels))


class BankBatches(DistillBatches):
    """Faces drawn from the teacher's bank: for each face one of its stored views, at random, or that view's
    mirror image, with the teacher's probabilities for that view as the soft target.

    `views` is (K, N, 48, 48) uint8 and `teacher` (K, N, classes). No further augmentation: any change
    to a view would make the teacher's reading of it stale; the mirror does not, since the teacher reads
    every view with flip TTA.
    """

    def __getitem__(self, index: int):
        chosen = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        view = rng.integers(0, len(self.images), size=len(chosen))
        faces = self.images[view, chosen]
        mirrored = rng.random(len(chosen)) < 0.5
        faces[mirrored] = faces[mirrored, :, ::-1]
        labels = self.labels[chosen]
        return preprocess_faces(faces), distillation_targets(labels, self.teacher[view, chosen]), self.weights[labels]


@keras.saving.register_keras_serializable(package="ml.distill")
def student_hard_accuracy(y_true, y_pred):
    """Accuracy of the student's half of a `ConsistentTeaching` output against the hard label."""
    ops = keras.ops
    return ops.cast(ops.argmax(y_true, axis=-1) == ops.argmax(y_pred[:, :NUM_CLASSES], axis=-1), "float32")


@keras.saving.register_keras_serializable(package="ml.distill")
class RandomAffine(layers.Layer):
    """Rotate, zoom and shift each face by its own random amounts, in one bilinear resampling.

    Keras's RandomRotation, RandomZoom and RandomTranslation each resample the
    face: chained, three bilinear passes blurred a 48x48 face visibly, and the
    student then trained on softer faces than it reads. This draws the same
    ranges as `ml.augment` (the shift plus the random crop's whole pixels) and
    applies them as one transform with `keras.ops.image.affine_transform`,
    edges reflected, as `ml.augment`'s warp does.
    """

    def __init__(self, config: AugmentConfig, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rotation = math.radians(config.rotation_degrees)
        self.zoom = config.zoom
        self.shift = config.shift
        self.crop = config.crop_padding
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, faces, training=False):
        if not training:
            return faces
        ops = keras.ops
        count = ops.shape(faces)[0]
        height, width = faces.shape[1], faces.shape[2]

        def draw(low, high):
            return keras.random.uniform((count,), low, high, seed=self.generator)

        angle = draw(-self.rotation, self.rotation)
        scale = draw(1 - self.zoom, 1 + self.zoom)
        crop_x = ops.floor(draw(-self.crop, self.crop + 1))
        crop_y = ops.floor(draw(-self.crop, self.crop + 1))
        shift_x = draw(-self.shift, self.shift) * width + crop_x
        shift_y = draw(-self.shift, self.shift) * height + crop_y
        # The transform maps each output pixel to where it is read in the input: the inverse of turning by
        # `angle` and scaling by `scale` about the centre, then shifting.
        cos, sin = ops.cos(angle) / scale, ops.sin(angle) / scale
        centre_x, centre_y = (width - 1) / 2, (height - 1) / 2
        a2 = centre_x - cos * (centre_x + shift_x) - sin * (centre_y + shift_y)
        b2 = centre_y + sin * (centre_x + shift_x) - cos * (centre_y + shift_y)
        zeros = ops.zeros_like(angle)
        transform = ops.stack([cos, sin, a2, -sin, cos, b2, zeros, zeros], axis=1)
        return keras.ops.image.affine_transform(
            faces, transform, interpolation="bilinear", fill_mode="reflect", data_format="channels_last"
        )

    def get_config(self):
        # Only the ranges this layer draws (brightness and erasing are other layers').
        ranges = {
            "rotation_degrees": round(math.degrees(self.rotation), 6),
            "zoom": self.zoom,
            "shift": self.shift,
            "crop_padding": self.crop,
        }
        return {**super().get_config(), "config": ranges, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        config = dict(config)  # the caller's dict stays as it was
        augment = AugmentConfig(**config.pop("config"))
        return cls(augment, **config)


def augmentation_layers(config: AugmentConfig, seed: int) -> keras.Sequential:
    """`ml.augment`'s transforms as Keras layers, to run inside the training step on any backend.

    The same kinds and ranges as the NumPy pipeline: a mirror image, one
    affine warp (`RandomAffine`), brightness and random erasing. Brightness is
    shifted by up to 15 % of the range (about what a 25 % factor does to a
    mid-grey face) rather than scaled, as Keras's layer does it. They compute
    in float32 whatever the run's precision.
    """
    kept = {"dtype": "float32"}
    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seed, **kept),
            RandomAffine(config, seed=seed + 1, **kept),
            layers.RandomBrightness(0.15, value_range=(0, 255), seed=seed + 4, **kept),
            layers.RandomErasing(
                factor=(config.erase_probability, config.erase_probability),
                scale=config.erase_area,
                value_range=(0, 255),
                seed=seed + 5,
                **kept,
            ),
        ],
        name="augment",
    )


def augmentation_record(augment: keras.Sequential) -> list[dict]:
    """Each augmentation layer with the settings that shape its draws, for run.json and the model card."""
    shaping = ("mode", "factor", "config", "scale", "value_range")
    return [
        {"layer": layer.__class__.__name__, **{k: v for k, v in layer.get_config().items() if k in shaping}}
        for layer in augment.layers
    ]


class ConsistentTeaching(keras.Model):
    """The student and the teacher reading the same augmented view of each face, every step.

    Its output is the student's probabilities and the teacher's (the mean over
    the view and its mirror image, the site's TTA) side by side; only the
    student trains. Outside training the view is the face itself.
    """

    def __init__(self, student: keras.Model, teacher: keras.Model, augment: keras.Sequential, **kwargs):
        super().__init__(**kwargs)
        self.student, self.teacher, self.augment = student, teacher, augment
        self.teacher.trainable = False

    def call(self, faces, training=False):
        ops = keras.ops
        view = self.augment(faces, training=training)
        count = ops.shape(view)[0]
        # One teacher pass over the view and its mirror image together.
        both = self.teacher(ops.concatenate([view, ops.flip(view, axis=2)], axis=0), training=False)
        teacher = ops.stop_gradient((both[:count] + both[count:]) / 2)
        student = self.student(view, training=training)
        return ops.concatenate([ops.cast(student, "float32"), ops.cast(teacher, "float32")], axis=-1)


class EpochTimer(keras.callbacks.Callback):
    """Log each epoch's seconds (the history's `seconds`, as ml.train's) and, given a limit, stop after the
    epoch when another would overrun it; the callbacks after it keep the best epoch.

    Keras 3 has no time limit (TensorFlow Addons' TimeStopping was never
    ported), and a run on a machine held for a fixed time needs one.
    """

    def __init__(self, limit_minutes: float | None = None):
        super().__init__()
        self.limit_seconds = None if limit_minutes is None else limit_minutes * 60
        self.started = 0.0
        self.epoch_started = 0.0

    def on_train_begin(self, logs=None):
        self.started = time.monotonic()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        now = time.monotonic()
        seconds = now - self.epoch_started
        if logs is not None:
            logs["seconds"] = round(seconds, 1)
        # The latest epoch, not the first: the first also pays for compiling the step.
        if self.limit_seconds is not None and now - self.started + seconds > self.limit_seconds:
            self.model.stop_training = True


def distillation_targets(labels: np.ndarray, teacher: np.ndarray) -> np.ndarray:
    return np.concatenate([keras.utils.to_categorical(labels, NUM_CLASSES), teacher], axis=1).astype("float32")


def teacher_probabilities(teacher: keras.Model, images: np.ndarray, *, cache: Path, version: str) -> np.ndarray:
    """The teacher's probabilities for uint8 faces with the site's TTA, computed once per run folder."""
    if cache.exists():
        stored = np.load(cache)
        if str(stored["version"]) == version and len(stored["probabilities"]) == len(images):
            return stored["probabilities"]
    probabilities = predict_probabilities(keras_predictor(teacher), preprocess_faces(images), TEACHER_TTA)
    np.savez(cache, probabilities=probabilities.astype("float32"), version=np.asarray(version))
    return probabilities


def teacher_bank(
    teacher: keras.Model | None,
    images: np.ndarray,
    *,
    views: int,
    seed: int,
    augment: AugmentConfig,
    folder: Path,
    version: str,
) -> tuple[np.ndarray, np.ndarray]:
    """`views` augmented views of every uint8 face and the teacher's probabilities for each (flip TTA):
    arrays (views, N, 48, 48) and (views, N, classes).

    Each view is stored in `folder` as it is finished (`teacher_bank_<k>.npz`), so a resumed run reads the
    views already made and makes only the rest; a view made for another teacher, seed or set of faces is
    made again.
    """
    folder.mkdir(parents=True, exist_ok=True)
    stack_views, stack_probabilities = [], []
    for k in range(views):
        path = folder / f"teacher_bank_{k}.npz"
        if path.exists():
            with np.load(path) as stored:
                view = stored["views"]
                if str(stored["version"]) == version and int(stored["seed"]) == seed and view.shape == images.shape:
                    stack_views.append(view)
                    stack_probabilities.append(stored["probabilities"])
                    continue
        started = time.monotonic()
        view = augment_batch(images, np.random.default_rng([seed, 7, k]), augment)
        probabilities = predict_probabilities(keras_predictor(teacher), preprocess_faces(view), TEACHER_TTA)
        probabilities = probabilities.astype("float32")
        np.savez(path, views=view, probabilities=probabilities, version=np.asarray(version), seed=np.asarray(seed))
        print(f"The teacher read view {k + 1} of {views} ({len(images)} faces) in {time.monotonic() - started:.0f} s")
        stack_views.append(view)
        stack_probabilities.append(probabilities)
    return np.stack(stack_views), np.stack(stack_probabilities)


def member_accuracies(teacher: keras.Model, validation: fer_data.Split) -> list[float]:
    """Each net of the teacher alone on the validation faces, with the site's TTA."""
    batch = preprocess_faces(validation.images)
    return [
        classification_metrics(validation.labels, predict_probabilities(keras_predictor(net), batch, TEACHER_TTA))[
            "accuracy"
        ]
        for net in ensemble_members(teacher)
    ]


def student_build(config: DistillConfig, teacher: keras.Model, validation: fer_data.Split) -> tuple[keras.Model, dict]:
    """The untrained student, warm-started from one of the teacher's nets as `init_member` says."""
    student = build_model(config.arch, INPUT_SHAPE, NUM_CLASSES, width=config.width)
    if config.init_member == "none":
        return student, {"init_member": None}
    nets = ensemble_members(teacher)
    if config.init_member == "best":
        accuracies = member_accuracies(teacher, validation)
        member = int(np.argmax(accuracies)) + 1
        chosen = {"init_member": member, "member_validation_accuracy": [round(a, 4) for a in accuracies]}
    else:
        member = int(config.init_member)
        if not 1 <= member <= len(nets):
            raise ValueError(f"The teacher holds {len(nets)} nets: --init-member must be 1..{len(nets)}, best or none.")
        chosen = {"init_member": member}
    source = nets[member - 1]
    source_width = int(weighted_layers(source)[0].weights[0].shape[-1])
    if source_width == int(weighted_layers(student)[0].weights[0].shape[-1]):
        copy_weights(source, student)
    else:
        # A wider student starts as the member itself, widened (`widen_weights`), not from scratch.
        widen_weights(source, student, seed=config.seed)
        chosen["widened_from"] = source_width
    return student, chosen


def learning_rate_schedule(config: DistillConfig, steps_per_epoch: int) -> keras.optimizers.schedules.CosineDecay:
    warmup = int(config.warmup_epochs * steps_per_epoch)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.learning_rate / 100,
        decay_steps=max(1, config.epochs * steps_per_epoch - warmup),
        warmup_target=config.learning_rate,
        warmup_steps=warmup,
    )


def student_compile(model: keras.Model, config: DistillConfig, steps_per_epoch: int) -> keras.Model:
    """Compile the student (`once`) or the `ConsistentTeaching` pair (`each`) with the distillation loss."""
    consistent = config.teacher_views == "each"
    loss_class = ConsistentDistillationLoss if consistent else DistillationLoss
    accuracy = student_hard_accuracy if consistent else hard_accuracy
    model.compile(
        optimizer=keras.optimizers.AdamW(
            learning_rate=learning_rate_schedule(config, steps_per_epoch),
            weight_decay=config.weight_decay,
            use_ema=config.ema_momentum is not None,
            ema_momentum=0.99 if config.ema_momentum is None else config.ema_momentum,  # 0.99: Keras's, unused
        ),
        loss=loss_class(config.temperature, config.alpha),
        metrics=[keras.metrics.MeanMetricWrapper(accuracy, name="hard_accuracy")],
    )
    return model


def run_callbacks(out: Path, config: DistillConfig) -> list[keras.callbacks.Callback]:
    # With `each` the model trained is the student and teacher pair: the best epoch's weights are kept
    # as weights, and the student alone is saved from them when the run ends.
    best = out / ("best.weights.h5" if config.teacher_views == "each" else "best.keras")
    # The backup comes before the swap, so that it holds the weights being trained, not their average;
    # everything after the swap (the checkpoint, early stopping) sees the average.
    averaged = [] if config.ema_momentum is None else [keras.callbacks.SwapEMAWeights(swap_on_epoch=True)]
    return [
        EpochTimer(config.time_limit_minutes),
        keras.callbacks.BackupAndRestore(str(out / "backup")),
        *averaged,
        keras.callbacks.ModelCheckpoint(
            str(best),
            monitor="val_hard_accuracy",
            mode="max",
            save_best_only=True,
            save_weights_only=config.teacher_views == "each",
        ),
        keras.callbacks.EarlyStopping(
            monitor="val_hard_accuracy", mode="max", patience=config.patience, restore_best_weights=True
        ),
        keras.callbacks.CSVLogger(str(out / "history.csv"), append=True),
    ]


def distill(config: DistillConfig, *, command: str | None = None, verbose: int | str = "auto") -> Path:
    """Train (or, when `out` holds a backup, resume) the student; returns the best epoch's model path.

    The run's precision is Keras's global policy only while it runs: a caller's own models keep theirs.
    """
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(config.precision)
    try:
        return _distill(config, command=command, verbose=verbose)
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _distill(config: DistillConfig, *, command: str | None, verbose: int | str) -> Path:
    out = Path(config.out)
    run_file = out / "run.json"
    if run_file.exists():
        # A run recorded before a setting existed ran with that setting's default.
        defaults = {field.name: field.default for field in dataclasses.fields(DistillConfig)}
        recorded = {**defaults, **json.loads(run_file.read_text())["config"]}
        if recorded != dataclasses.asdict(config):
            raise FileExistsError(
                f"{out} holds a run with another recipe: rerun its own command or choose another --out."
            )
    keras.utils.set_random_seed(config.seed)

    teacher = load_model(config.teacher)
    version = read_model_card(config.teacher).get("version") or Path(config.teacher).stem
    train, _ = fer_data.load_split(config.data, "train", config.limit_per_class)
    # The whole test folder even with --limit-per-class: its first files per class are all PrivateTest.
    test, _ = fer_data.load_split(config.data, "test")
    validation, _private_is_not_read_here = fer_data.test_halves(test)
    out.mkdir(parents=True, exist_ok=True)

    if config.teacher_views not in TEACHER_VIEWS:
        raise ValueError(f"--teacher-views must be one of {', '.join(TEACHER_VIEWS)}.")
    if config.bank_views < 1:
        raise ValueError("--bank-views must be at least 1.")
    consistent = config.teacher_views == "each"
    augment = AugmentConfig(erase_probability=config.erase_probability)
    student, start = student_build(config, teacher, validation)
    # Before anything is written: a refused run leaves no record to be refused as another recipe.
    inference_check(student, preprocess_faces(validation.images[:64]), precision=config.precision)
    if config.teacher_views == "once":
        soft = teacher_probabilities(teacher, train.images, cache=out / "teacher_train.npz", version=version)
    elif config.teacher_views == "bank":
        bank_faces, soft = teacher_bank(
            teacher,
            train.images,
            views=config.bank_views,
            seed=config.seed,
            augment=augment,
            folder=out,
            version=version,
        )
    if not run_file.exists():
        if consistent:
            teacher_record = {
                "teacher_targets": "each augmented view, every step",
                "augmentation": augmentation_record(augmentation_layers(augment, config.seed)),
            }
        elif config.teacher_views == "bank":
            teacher_record = {
                "teacher_targets": f"{config.bank_views} augmented views of each training face, read once",
                "augmentation": dataclasses.asdict(augment),
                "teacher_train_accuracy": round(float((soft.argmax(2) == train.labels).mean()), 4),
            }
        else:
            teacher_record = {
                "teacher_targets": "each training face once, unaugmented",
                "teacher_train_accuracy": round(float((soft.argmax(1) == train.labels).mean()), 4),
            }
        run_file.write_text(
            json.dumps(
                {
                    "command": command,
                    "config": dataclasses.asdict(config),
                    "teacher_version": version,
                    **teacher_record,
                    "validation": "PublicTest",
                    "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "keras": keras.__version__,
                    "backend": keras.backend.backend(),
                    "parameters": student.count_params(),
                    "train_counts": train.counts(),
                    "validation_counts": validation.counts(),
                    **start,
                },
                indent=2,
            )
            + "\n"
        )
    weights = fer_data.class_weights(train.labels, power=0.5)
    validation_onehot = keras.utils.to_categorical(validation.labels, NUM_CLASSES)
    if consistent:
        pair = ConsistentTeaching(
            student,
            teacher_for_training(teacher, config.precision),
            augmentation_layers(augment, config.seed),
            dtype="float32",
        )
        pair(preprocess_faces(train.images[:2]))  # built before fit: BackupAndRestore needs its weights
        steps = math.ceil(len(train) / config.batch_size)
        student_compile(pair, config, steps)
        # Validation shows the pair the faces themselves; the epoch is chosen on the student's hard accuracy.
        pair.fit(
            preprocess_faces(train.images),
            keras.utils.to_categorical(train.labels, NUM_CLASSES),
            sample_weight=weights[train.labels],
            batch_size=config.batch_size,
            shuffle=True,
            validation_data=(preprocess_faces(validation.images), validation_onehot),
            validation_batch_size=1024,
            epochs=config.epochs,
            callbacks=run_callbacks(out, config),
            verbose=verbose,
        )
        if (out / "best.weights.h5").exists():
            pair.load_weights(out / "best.weights.h5")
        student.save(out / "best.keras")
        student.save(out / "model.keras")
        return out / "model.keras"
    if config.teacher_views == "bank":
        batches = BankBatches(
            bank_faces, train.labels, soft, config.batch_size, seed=config.seed, weights=weights, config=augment
        )
    else:
        batches = DistillBatches(
            train.images, train.labels, soft, config.batch_size, seed=config.seed, weights=weights, config=augment
        )
    student_compile(student, config, len(batches))
    # Validation scores the student against the labels alone (the teacher's half of the target is the one-hot
    # label too): the epoch is chosen on hard accuracy, and the teacher need not read the validation faces.
    student.fit(
        batches,
        validation_data=(
            preprocess_faces(validation.images),
            distillation_targets(validation.labels, validation_onehot),
        ),
        epochs=config.epochs,
        callbacks=run_callbacks(out, config),
        verbose=verbose,
    )
    student.save(out / "model.keras")
    return out / "model.keras"


def teacher_for_training(teacher: keras.Model, precision: str) -> keras.Model:
    """The teacher computing in the run's precision (it trained in mixed bfloat16; `load_model` gives float32)."""
    return to_mixed_bfloat16(teacher) if precision == "mixed_bfloat16" else teacher


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = DistillConfig(teacher="", data="", out="")
    parser = argparse.ArgumentParser(prog="python -m ml.distill", description=__doc__.split("\n")[0])
    parser.add_argument("--teacher", required=True, help="the .keras ensemble to distil")
    parser.add_argument("--data", required=True, help="FER-2013 folder holding train/ and test/")
    parser.add_argument("--out", required=True, help="run folder; rerun the same command to resume")
    parser.add_argument("--arch", default=defaults.arch)
    parser.add_argument("--width", type=int, default=defaults.width)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=defaults.learning_rate, help="peak learning rate")
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    parser.add_argument("--warmup-epochs", type=float, default=defaults.warmup_epochs)
    parser.add_argument("--temperature", type=float, default=defaults.temperature)
    parser.add_argument("--alpha", type=float, default=defaults.alpha, help="weight of the soft targets (0..1)")
    parser.add_argument("--patience", type=int, default=defaults.patience)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--precision", choices=("float32", "mixed_bfloat16"), default=defaults.precision)
    parser.add_argument("--init-member", default=defaults.init_member, help="1..N, best, or none (from scratch)")
    parser.add_argument("--erase-probability", type=float, default=defaults.erase_probability)
    parser.add_argument("--limit-per-class", type=int, default=None, help="use only the first N images per class")
    parser.add_argument(
        "--teacher-views",
        choices=TEACHER_VIEWS,
        default=defaults.teacher_views,
        help="once: cached targets on unaugmented faces (CPU); each: the teacher reads every augmented view (GPU); "
        "bank: the teacher reads --bank-views augmented views of each face once, and each epoch draws from them (CPU)",
    )
    parser.add_argument(
        "--bank-views", type=int, default=defaults.bank_views, help="with --teacher-views bank: views per face"
    )
    parser.add_argument(
        "--time-limit-minutes", type=float, default=None, help="stop after the epoch that would overrun this"
    )
    parser.add_argument(
        "--ema-momentum",
        type=float,
        default=None,
        help="keep a moving average of the weights (e.g. 0.998 a step) and evaluate and save it each epoch",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    config = DistillConfig(
        teacher=args.teacher,
        data=args.data,
        out=args.out,
        arch=args.arch,
        width=args.width,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        weight_decay=args.weight_decay,
        warmup_epochs=args.warmup_epochs,
        temperature=args.temperature,
        alpha=args.alpha,
        patience=args.patience,
        seed=args.seed,
        precision=args.precision,
        init_member=args.init_member,
        erase_probability=args.erase_probability,
        limit_per_class=args.limit_per_class,
        teacher_views=args.teacher_views,
        bank_views=args.bank_views,
        time_limit_minutes=args.time_limit_minutes,
        ema_momentum=args.ema_momentum,
    )
    command = "python -m ml.distill " + shlex.join(sys.argv[1:] if argv is None else argv)
    with refusals_as_errors("python -m ml.distill"):
        path = distill(config, command=command, verbose=1 if sys.stdout.isatty() else 2)
    print(f"Saved the best epoch's student to {path}")


if __name__ == "__main__":
    main()
