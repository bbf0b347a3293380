"""Train one architecture on FER-2013's labels or on FER+'s ten-tagger votes.

    python -m ml.training.train --arch vggnet --data "$FER_DATA" --epochs 30 --out runs/vggnet
    python -m ml.training.train --arch resnet --labels ferplus --ferplus "$FERPLUS_DATA" --out runs/resnet-fp

Keras does the bookkeeping: `CosineDecay` with a linear warm-up sets the learning rate,
`BackupAndRestore` resumes an interrupted run (rerun the same command; it backs up every
`--backup-steps` steps and restarts the epoch it was in), `ModelCheckpoint` keeps the best epoch as
`best.keras`, `EarlyStopping` stops a run that no longer improves, and `CSVLogger` writes `history.csv`.
The run's recipe and commands go to `run.json`; `model.keras` is the best epoch (or the last one, without
a validation set) when the run ends.

With `--labels fer2013` the net learns FER-2013's one label per face, validated on `--validation-fraction`
of train. With `--labels ferplus` it learns the distribution of FER+'s votes (`ml.training.ferplus`) and
is validated on FER+'s `FER2013Valid`, the PublicTest faces: FER2013Test (PrivateTest) is never read here.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

from ml.runtime.labels import LABELS
from ml.runtime.preprocessing import INPUT_SHAPE, preprocess_faces
from ml.training import data as fer_data
from ml.training import ferplus
from ml.training.augment import AugmentConfig, augment_batch
from ml.training.cli import command_run, config_from, history_read
from ml.training.models import (
    ARCHITECTURES,
    build_model,
    copy_weights,
    ensemble_members,
    inference_check,
    load_model,
)

BALANCE_CHOICES = ("none", "weights", "sqrt-weights")
LABEL_SOURCES = ("fer2013", "ferplus")
PRECISION_CHOICES = ("float32", "mixed_bfloat16")


@dataclasses.dataclass
class TrainConfig:
    arch: str
    out: str
    data: str | None = None
    labels: str = "fer2013"
    ferplus: str | None = None
    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 2e-3
    weight_decay: float = 0.01
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.1
    balance: str = "sqrt-weights"
    augment: bool = True
    validation_fraction: float = 0.2
    patience: int = 10
    seed: int = fer_data.DEFAULT_SEED
    width: int | None = None
    erase_probability: float = 0.5
    limit_per_class: int | None = None
    # Which precision is faster depends on the CPU, so measure with `make bench-train` before a long run:
    # mixed bfloat16 trained the VGG-style net 1.3x faster on an AMD EPYC, float32 1.5x faster on an
    # Intel Xeon. ml.training.models.load_model computes in float32 whatever precision a run trained in.
    precision: str = "float32"
    # Warm start: begin from this .keras model's weights (same architecture and width).
    init_from: str | None = None
    # Which net of an ensemble `init_from` names (1-based).
    init_member: int | None = None
    backup_steps: int = 100


class FaceBatches(keras.utils.PyDataset):
    """Shuffled, augmented batches of (faces, target distributions, sample weights)."""

    def __init__(
        self,
        images: np.ndarray,
        targets: np.ndarray,
        batch_size: int,
        *,
        seed: int,
        augment: bool,
        sample_weights: np.ndarray | None = None,
        first_epoch: int = 0,
        augment_config: AugmentConfig | None = None,
    ):
        super().__init__()
        self.images = images
        self.targets = targets
        self.batch_size = batch_size
        self.seed = seed
        self.augment = augment
        self.sample_weights = sample_weights
        self.epoch = first_epoch
        self.augment_config = augment_config or AugmentConfig()
        self._order = self._epoch_order()

    def _epoch_order(self) -> np.ndarray:
        order = np.arange(len(self.targets))
        np.random.default_rng([self.seed, self.epoch]).shuffle(order)
        return order

    def __len__(self) -> int:
        return math.ceil(len(self._order) / self.batch_size)

    def __getitem__(self, index: int):
        chosen = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        faces = self.images[chosen]
        if self.augment:
            faces = augment_batch(faces, np.random.default_rng([self.seed, self.epoch, index]), self.augment_config)
        x, y = preprocess_faces(faces), self.targets[chosen]
        if self.sample_weights is None:
            return x, y
        return x, y, self.sample_weights[chosen]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._order = self._epoch_order()


class EpochTimer(keras.callbacks.Callback):
    """Each epoch's seconds in the history (`seconds`); Keras logs no wall time per epoch."""

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["seconds"] = round(time.monotonic() - self.started, 1)


@dataclasses.dataclass
class TrainingData:
    images: np.ndarray
    targets: np.ndarray
    validation: tuple[np.ndarray, np.ndarray] | None
    counts: dict[str, dict[str, int]]


def training_data(config: TrainConfig) -> TrainingData:
    """The run's faces and targets (one-hot labels or vote distributions) and its validation set."""
    if config.labels == "ferplus":
        if not config.ferplus:
            raise ValueError("--labels ferplus needs --ferplus, the FER+ folder holding FER2013Train and FER2013Valid.")
        train_votes = ferplus.votes_load(config.ferplus, "train", limit=config.limit_per_class)
        valid_votes = ferplus.votes_load(config.ferplus, "public-test", limit=config.limit_per_class)
        return TrainingData(
            images=train_votes.images,
            targets=train_votes.votes,
            validation=(preprocess_faces(valid_votes.images), valid_votes.votes),
            counts={
                "train": _counts(train_votes.votes.argmax(axis=1)),
                "validation": _counts(valid_votes.votes.argmax(axis=1)),
                "left_out": train_votes.left_out,
            },
        )
    if not config.data:
        raise ValueError("--labels fer2013 needs --data, FER-2013's folder holding train/ and test/.")
    split, report = fer_data.load_split(config.data, "train", config.limit_per_class)
    train_part, validation_part = fer_data.stratified_split(split, config.validation_fraction, config.seed)
    one_hot = np.eye(len(LABELS), dtype=np.float32)
    validation = None
    if len(validation_part):
        validation = (preprocess_faces(validation_part.images), one_hot[validation_part.labels])
    return TrainingData(
        images=train_part.images,
        targets=one_hot[train_part.labels],
        validation=validation,
        counts={
            "train": train_part.counts(),
            "validation": validation_part.counts(),
            "anomalies": len(report.anomalies),
        },
    )


def _counts(labels: np.ndarray) -> dict[str, int]:
    found = np.bincount(labels, minlength=len(LABELS))
    return {label: int(found[index]) for index, label in enumerate(LABELS)}


def sample_weights(config: TrainConfig, targets: np.ndarray) -> np.ndarray | None:
    """Per-face weights that balance the classes (by each face's leading emotion), as the recipe says."""
    if config.balance not in BALANCE_CHOICES:
        raise ValueError(f"Unknown --balance {config.balance!r}; choose one of {', '.join(BALANCE_CHOICES)}.")
    if config.balance == "none":
        return None
    leading = targets.argmax(axis=1)
    per_class = fer_data.class_weights(leading, power=1.0 if config.balance == "weights" else 0.5)
    return per_class[leading]


def learning_rate_schedule(config: TrainConfig, steps_per_epoch: int) -> keras.optimizers.schedules.CosineDecay:
    """A linear warm-up to the peak, then cosine decay to zero at the last planned step."""
    warmup = int(config.warmup_epochs * steps_per_epoch)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else config.learning_rate,
        decay_steps=max(1, config.epochs * steps_per_epoch - warmup),
        warmup_target=config.learning_rate if warmup else None,
        warmup_steps=warmup,
    )


def model_compile(model: keras.Model, config: TrainConfig, steps_per_epoch: int) -> keras.Model:
    model.compile(
        optimizer=keras.optimizers.AdamW(
            learning_rate=learning_rate_schedule(config, steps_per_epoch), weight_decay=config.weight_decay
        ),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )
    return model


def model_new(config: TrainConfig) -> keras.Model:
    """The run's untrained model, or a warm start from `init_from` (its `init_member` for an ensemble)."""
    model = build_model(config.arch, INPUT_SHAPE, len(LABELS), width=config.width)
    if config.init_from:
        copy_weights(warm_start_source(config.init_from, config.init_member), model)
    return model


def warm_start_source(path: str, member: int | None) -> keras.Model:
    """The net a warm start copies: the model in `path`, or its `member`-th net when it is an ensemble."""
    nets = ensemble_members(load_model(path))
    if member is None:
        if len(nets) > 1:
            raise ValueError(
                f"{path} is an ensemble of {len(nets)} nets: choose one with --init-member 1..{len(nets)}."
            )
        return nets[0]
    if not 1 <= member <= len(nets):
        raise ValueError(f"{path} holds {len(nets)} net(s): --init-member must be between 1 and {len(nets)}.")
    return nets[member - 1]


def run_callbacks(out: Path, config: TrainConfig, validated: bool) -> list[keras.callbacks.Callback]:
    # Without a validation set the last epoch of the fixed schedule is the model: training accuracy would
    # choose the most overfitted epoch. A resumed run's checkpoint starts from the best accuracy in its history,
    # so an epoch after the restart replaces best.keras only when it beats every epoch before it; EarlyStopping's
    # count of epochs without progress starts again (at most `patience` extra epochs).
    keep = (
        [
            keras.callbacks.ModelCheckpoint(
                str(out / "best.keras"),
                monitor="val_accuracy",
                save_best_only=True,
                initial_value_threshold=history_best(out / "history.csv", "val_accuracy"),
            ),
            keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=config.patience, restore_best_weights=True),
        ]
        if validated
        else [keras.callbacks.ModelCheckpoint(str(out / "best.keras"))]
    )
    return [
        EpochTimer(),
        *backups(out, config.backup_steps),
        *keep,
        keras.callbacks.CSVLogger(str(out / "history.csv"), append=True),
    ]


def backups(out: Path, steps: int) -> list[keras.callbacks.Callback]:
    """Keras's backup every `steps` steps and at every epoch's end (its step count alone would leave the
    finished epoch to be trained again when a run stops before the next step's backup)."""
    folder = str(out / "backup")
    return [
        keras.callbacks.BackupAndRestore(folder, save_freq=steps, double_checkpoint=True),
        keras.callbacks.BackupAndRestore(folder, save_freq="epoch", double_checkpoint=True),
    ]


def history_best(history_csv: Path, metric: str) -> float | None:
    """The best value of `metric` a run's history.csv holds, or None for a new run."""
    return max((row[metric] for row in history_read(history_csv) if metric in row), default=None)


def train(config: TrainConfig, *, command: str | None = None, verbose: int | str = "auto") -> Path:
    """Train the run in `config.out`, or continue it where a backup is; returns the path of its model."""
    if config.precision not in PRECISION_CHOICES:
        raise ValueError(f"Unknown --precision {config.precision!r}; choose one of {', '.join(PRECISION_CHOICES)}.")
    if config.labels not in LABEL_SOURCES:
        raise ValueError(f"Unknown --labels {config.labels!r}; choose one of {', '.join(LABEL_SOURCES)}.")
    out = Path(config.out)
    resuming = (out / "backup").is_dir()
    if (resuming or (out / "model.keras").exists()) and recorded_config(out, config) != config:
        raise ValueError(f"{out} holds a run with another recipe (run.json): rerun its own command, or choose --out.")
    if not resuming and (out / "model.keras").exists():
        print(f"{out} has finished already: {out / 'model.keras'}.", flush=True)
        return out / "model.keras"
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(config.precision)
    try:
        return _train(config, out, resuming=resuming, command=command, verbose=verbose)
    finally:
        keras.mixed_precision.set_global_policy(previous)


def recorded_config(out: Path, config: TrainConfig) -> TrainConfig | None:
    """The recipe run.json records in `out`, with this call's data folders (which may move), or None."""
    if not (out / "run.json").is_file():
        return None
    recorded = TrainConfig(**json.loads((out / "run.json").read_text())["config"])
    return dataclasses.replace(recorded, data=config.data, ferplus=config.ferplus, out=config.out)


def _train(config: TrainConfig, out: Path, *, resuming: bool, command: str | None, verbose: int | str) -> Path:
    keras.utils.set_random_seed(config.seed)
    started = time.time()
    data = training_data(config)
    print(f"Loaded {len(data.targets)} training faces in {time.time() - started:.0f}s.", flush=True)
    batches = FaceBatches(
        data.images,
        data.targets,
        config.batch_size,
        seed=config.seed,
        augment=config.augment,
        sample_weights=sample_weights(config, data.targets),
        first_epoch=backed_up_epoch(out),
        augment_config=AugmentConfig(erase_probability=config.erase_probability),
    )
    model = model_compile(model_new(config), config, len(batches))
    inference_check(model, preprocess_faces(data.images[:64]), precision=config.precision)
    # Only now: a run refused for its data, its warm start or its precision leaves no empty run folder behind.
    out.mkdir(parents=True, exist_ok=True)
    record = run_record(config, out, command, model, data)
    (out / "run.json").write_text(json.dumps(record, indent=2) + "\n")
    if resuming:
        print(f"Resuming {out} from its backup (after epoch {batches.epoch}).", flush=True)
    model.fit(
        batches,
        validation_data=data.validation,
        epochs=config.epochs,
        callbacks=run_callbacks(out, config, validated=data.validation is not None),
        verbose=verbose,
    )
    final = out / "model.keras"
    if data.validation is not None:
        # EarlyStopping restored the best epoch's weights when it stopped; ModelCheckpoint kept them in any case.
        final.write_bytes((out / "best.keras").read_bytes())
    else:
        model.save(final)
    history_plot(out / "history.csv", out / "curves.png")
    print(f"Saved {final}.", flush=True)
    return final


def backed_up_epoch(out: Path) -> int:
    """The epoch a backup resumes at (BackupAndRestore's metadata), so augmentation does not repeat epoch 0's."""
    metadata = out / "backup" / "training_metadata.json"
    if not metadata.is_file():
        return 0
    return int(json.loads(metadata.read_text()).get("epoch", 0))


def run_record(config: TrainConfig, out: Path, command: str | None, model: keras.Model, data: TrainingData) -> dict:
    """What run.json keeps: every command that ran the recipe, the recipe, software and data counts."""
    previous = json.loads((out / "run.json").read_text()) if (out / "run.json").is_file() else {}
    return {
        "commands": [*previous.get("commands", []), command],
        "started": previous.get("started") or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config": dataclasses.asdict(config),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "parameters": model.count_params(),
        "counts": data.counts,
    }


def history_plot(history_csv: Path, path: Path) -> None:
    """Accuracy and loss curves, training against validation, from the run's history.csv."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = history_read(history_csv)
    if not rows:
        return
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for axis, metric in zip(axes, ("accuracy", "loss"), strict=True):
        for prefix, name in (("", "training"), ("val_", "validation")):
            points = [(row["epoch"], row[prefix + metric]) for row in rows if prefix + metric in row]
            if points:
                axis.plot(*zip(*points, strict=True), label=f"{name} {metric}")
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = TrainConfig(arch="", out="")
    parser = argparse.ArgumentParser(prog="python -m ml.training.train", description=__doc__.split("\n")[0])
    parser.add_argument("--arch", required=True, choices=sorted(ARCHITECTURES))
    parser.add_argument("--out", required=True, help="run folder (backup, history, models); rerun to resume")
    parser.add_argument("--labels", choices=LABEL_SOURCES, default=defaults.labels)
    parser.add_argument("--data", help="FER-2013 folder holding train/ and test/ (with --labels fer2013)")
    parser.add_argument("--ferplus", help="FER+ folder holding FER2013Train and FER2013Valid (with --labels ferplus)")
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=defaults.learning_rate, help="peak learning rate")
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    parser.add_argument("--warmup-epochs", type=float, default=defaults.warmup_epochs)
    parser.add_argument("--label-smoothing", type=float, default=defaults.label_smoothing)
    parser.add_argument("--balance", choices=BALANCE_CHOICES, default=defaults.balance)
    parser.add_argument("--no-augment", action="store_true")
    parser.add_argument("--validation-fraction", type=float, default=defaults.validation_fraction)
    parser.add_argument("--patience", type=int, default=defaults.patience, help="early-stopping patience (epochs)")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--width", type=int, default=None, help="first-stage filters of vggnet/resnet")
    parser.add_argument("--erase-probability", type=float, default=defaults.erase_probability)
    parser.add_argument("--precision", choices=PRECISION_CHOICES, default=defaults.precision)
    parser.add_argument(
        "--init-from", default=None, help="start from this .keras model's weights (same --arch/--width)"
    )
    parser.add_argument("--init-member", type=int, default=None, help="with an ensemble --init-from, its net (1-based)")
    parser.add_argument(
        "--limit-per-class", type=int, default=None, help="only the first N faces (per class with FER-2013)"
    )
    parser.add_argument("--backup-steps", type=int, default=defaults.backup_steps, help="steps between backups")
    args = parser.parse_args(argv)
    if args.init_member is not None and args.init_from is None:
        parser.error("--init-member picks a net of the --init-from model: pass --init-from as well.")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    config = config_from(TrainConfig, args, learning_rate=args.lr, augment=not args.no_augment)
    command_run("python -m ml.training.train", argv, lambda **how: train(config, **how))


if __name__ == "__main__":
    main()
