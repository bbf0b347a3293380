"""Distil a teacher (one net or an ensemble file) into one small net, with Keras's own `Distiller`.

    python -m ml.training.distill --teacher runs/teacher-fp.keras --ferplus "$FERPLUS_DATA" \
        --init-from runs/fp-vgg-m2/model.keras --out runs/student-fp --epochs 30

`keras.distillation.Distiller` trains the student on a mix of two losses: the teacher's softened
probabilities (`LogitsDistillation` at `--temperature`, weight `--alpha`) and the training targets (FER+'s
vote distributions, or FER-2013's labels, weight 1 - alpha). The batches come augmented from
`ml.training.train.FaceBatches`, so the teacher reads the very view the student is shown ("consistent
teaching", Beyer et al. 2022), averaged with its mirror image (the teacher's flip TTA).

The nets end in a softmax; the Distiller's losses take logits, so both are read through `LogProbabilities`
(log p is a logit up to a constant, and softmax(log p / T) is exactly p tempered by T).

Validation is FER+'s FER2013Valid (the PublicTest faces), by the majority of the votes where there is one;
PrivateTest is never read here. The bookkeeping is Keras's, as in `ml.training.train`: `CosineDecay` with
warm-up, `BackupAndRestore` (rerun the same command to resume), `ModelCheckpoint` for the best epoch's
weights, `EarlyStopping` and `CSVLogger`. When the run ends, the student alone is saved as `best.keras`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
from keras import layers

from ml.runtime.labels import LABELS
from ml.runtime.preprocessing import INPUT_SHAPE, preprocess_faces
from ml.training.augment import AugmentConfig
from ml.training.cli import command_run, config_from
from ml.training.models import ARCHITECTURES, build_model, copy_weights, inference_check, load_model
from ml.training.train import (
    EpochTimer,
    FaceBatches,
    TrainConfig,
    backed_up_epoch,
    backups,
    history_best,
    history_plot,
    learning_rate_schedule,
    sample_weights,
    training_data,
    warm_start_source,
)


@dataclasses.dataclass
class DistillConfig:
    teacher: str
    out: str
    ferplus: str | None = None
    data: str | None = None
    labels: str = "ferplus"
    arch: str = "vggnet"
    width: int | None = 32
    epochs: int = 30
    batch_size: int = 128
    learning_rate: float = 5e-4
    weight_decay: float = 0.05
    warmup_epochs: float = 1.0
    temperature: float = 4.0
    # Weight of the teacher's softened probabilities; the training targets get the rest.
    alpha: float = 0.7
    patience: int = 8
    seed: int = 2026
    precision: str = "mixed_bfloat16"
    balance: str = "sqrt-weights"
    init_from: str | None = None
    init_member: int | None = None
    erase_probability: float = 0.5
    limit_per_class: int | None = None
    backup_steps: int = 100

    def as_train_config(self) -> TrainConfig:
        """The recipe's data, balance and schedule settings, as `ml.training.train` reads them."""
        shared = {field.name for field in dataclasses.fields(TrainConfig)} & set(vars(self))
        return TrainConfig(**{name: getattr(self, name) for name in shared})


@keras.saving.register_keras_serializable(package="ml.training")
class LogProbabilities(layers.Layer):
    """log(p), floored: a net's probabilities read as logits."""

    def call(self, probabilities):
        return keras.ops.log(keras.ops.maximum(keras.ops.cast(probabilities, "float32"), 1e-7))


@keras.saving.register_keras_serializable(package="ml.training")
class Mirror(layers.Layer):
    """The face flipped left to right (the flip TTA's second view)."""

    def call(self, faces):
        return keras.ops.flip(faces, axis=2)


def student_logits(net: keras.Model) -> keras.Model:
    faces = keras.Input(shape=INPUT_SHAPE, name="face")
    return keras.Model(faces, LogProbabilities(name="student_logits")(net(faces)), name="student")


def teacher_logits(net: keras.Model) -> keras.Model:
    """The teacher's reading of a face and of its mirror image, averaged, as logits."""
    faces = keras.Input(shape=INPUT_SHAPE, name="face")
    mean = layers.Average(dtype="float32")([net(faces), net(Mirror()(faces))])
    return keras.Model(faces, LogProbabilities(name="teacher_logits")(mean), name="teacher")


def student_new(config: DistillConfig) -> keras.Model:
    """The student net: a warm start from `init_from` (its `init_member` for an ensemble), or from scratch."""
    net = build_model(config.arch, INPUT_SHAPE, len(LABELS), width=config.width)
    if config.init_from:
        copy_weights(warm_start_source(config.init_from, config.init_member), net)
    return net


def distiller_build(config: DistillConfig, student: keras.Model, teacher: keras.Model, steps: int) -> keras.Model:
    distiller = keras.distillation.Distiller(
        teacher=teacher_logits(teacher),
        student=student_logits(student),
        # The loss is passed as an instance: with the default string "kl_divergence", Keras 3.15 resolves it
        # to the bare function, skips the softmax it applies for a KLDivergence instance, and the loss reads
        # 0.0 for any logits (tests/ml/test_distill.py pins that the teacher's term is not zero).
        distillation_losses=keras.distillation.LogitsDistillation(
            temperature=config.temperature, loss=keras.losses.KLDivergence()
        ),
        student_loss_weight=1 - config.alpha,
    )
    train_config = config.as_train_config()
    distiller.compile(
        optimizer=keras.optimizers.AdamW(
            learning_rate=learning_rate_schedule(train_config, steps), weight_decay=config.weight_decay
        ),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return distiller


def distill(config: DistillConfig, *, command: str | None = None, verbose: int | str = "auto") -> Path:
    """Distil (or continue distilling, where `out` holds a backup); returns the path of the best student."""
    out = Path(config.out)
    if not (out / "backup").is_dir() and (out / "best.keras").exists():
        print(f"{out} has finished already: {out / 'best.keras'}.", flush=True)
        return out / "best.keras"
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(config.precision)
    try:
        return _distill(config, out, command=command, verbose=verbose)
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _distill(config: DistillConfig, out: Path, *, command: str | None, verbose: int | str) -> Path:
    keras.utils.set_random_seed(config.seed)
    train_config = config.as_train_config()
    data = training_data(train_config)
    if data.validation is None:
        raise ValueError("Distillation needs a validation set: FER+'s FER2013Valid, or a split of FER-2013's train.")
    batches = FaceBatches(
        data.images,
        data.targets,
        config.batch_size,
        seed=config.seed,
        augment=True,
        sample_weights=sample_weights(train_config, data.targets),
        first_epoch=backed_up_epoch(out),
        augment_config=AugmentConfig(erase_probability=config.erase_probability),
    )
    # The teacher computes in float32 (its weights are stored for inference); only the student trains mixed.
    keras.mixed_precision.set_global_policy("float32")
    teacher = load_model(config.teacher)
    teacher.trainable = False
    keras.mixed_precision.set_global_policy(config.precision)
    student = student_new(config)
    inference_check(student, preprocess_faces(data.images[:64]), precision=config.precision)
    distiller = distiller_build(config, student, teacher, len(batches))
    # BackupAndRestore loads weights into a built model only.
    distiller(data.validation[0][:1])
    out.mkdir(parents=True, exist_ok=True)
    previous = json.loads((out / "run.json").read_text()) if (out / "run.json").is_file() else {}
    record = {
        "commands": [*previous.get("commands", []), command],
        "config": dataclasses.asdict(config),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "parameters": student.count_params(),
        "counts": data.counts,
    }
    (out / "run.json").write_text(json.dumps(record, indent=2) + "\n")
    best_weights = out / "best.weights.h5"
    distiller.fit(
        batches,
        validation_data=data.validation,
        epochs=config.epochs,
        callbacks=[
            EpochTimer(),
            *backups(out, config.backup_steps),
            keras.callbacks.ModelCheckpoint(
                str(best_weights),
                monitor="val_accuracy",
                save_best_only=True,
                save_weights_only=True,
                initial_value_threshold=history_best(out / "history.csv", "val_accuracy"),
            ),
            keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=config.patience),
            keras.callbacks.CSVLogger(str(out / "history.csv"), append=True),
        ],
        verbose=verbose,
    )
    # The student alone, as the best epoch left it: the file ml.training.ship and evaluate read.
    distiller.load_weights(best_weights)
    best = out / "best.keras"
    student.save(best)
    history_plot(out / "history.csv", out / "curves.png")
    print(f"Saved the student's best epoch as {best}.", flush=True)
    return best


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = DistillConfig(teacher="", out="")
    parser = argparse.ArgumentParser(prog="python -m ml.training.distill", description=__doc__.split("\n")[0])
    parser.add_argument("--teacher", required=True, help="the teacher's .keras file (a net or an ensemble)")
    parser.add_argument("--out", required=True, help="run folder; rerun the same command to resume")
    parser.add_argument("--labels", choices=("ferplus", "fer2013"), default=defaults.labels)
    parser.add_argument("--ferplus", help="FER+ folder holding FER2013Train and FER2013Valid")
    parser.add_argument("--data", help="FER-2013 folder (with --labels fer2013)")
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES), default=defaults.arch)
    parser.add_argument("--width", type=int, default=defaults.width)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=defaults.learning_rate, help="peak learning rate")
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    parser.add_argument("--warmup-epochs", type=float, default=defaults.warmup_epochs)
    parser.add_argument("--temperature", type=float, default=defaults.temperature)
    parser.add_argument("--alpha", type=float, default=defaults.alpha, help="weight of the teacher's targets")
    parser.add_argument("--patience", type=int, default=defaults.patience)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--precision", choices=("float32", "mixed_bfloat16"), default=defaults.precision)
    parser.add_argument("--balance", choices=("none", "weights", "sqrt-weights"), default=defaults.balance)
    parser.add_argument("--init-from", help="start the student from this .keras model's weights")
    parser.add_argument("--init-member", type=int, help="with an ensemble --init-from, its net (1-based)")
    parser.add_argument("--erase-probability", type=float, default=defaults.erase_probability)
    parser.add_argument("--limit-per-class", type=int, default=None, help="only the first N faces")
    parser.add_argument("--backup-steps", type=int, default=defaults.backup_steps)
    args = parser.parse_args(argv)
    if not 0 <= args.alpha <= 1:
        parser.error("--alpha is a weight between 0 and 1.")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    config = config_from(DistillConfig, args, learning_rate=args.lr)
    command_run("python -m ml.training.distill", argv, lambda **how: distill(config, **how))


if __name__ == "__main__":
    main()
