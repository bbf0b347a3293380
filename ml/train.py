"""Train one architecture on FER-2013.

    python -m ml.train --arch vggnet --data ../shared/datasets/fer2013 --epochs 30 --out runs/vggnet

Every epoch writes `checkpoint.keras` (weights and optimizer state) and
`state.json` into `--out`, so an interrupted run continues where it stopped
with `--resume`; the best epoch (validation accuracy) is kept as `best.keras`
and, at the end, as `model.keras`. With `--validation-fraction 0` the run
trains on all of train with a schedule fixed beforehand (from a validated
run) and keeps its last epoch, since nothing is left to choose one with.
History goes to `history.json` and `curves.png`, the exact command and seed
to `run.json`.
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

from ml import data as fer_data
from ml.augment import AugmentConfig, augment_batch
from ml.cli import refusals_as_errors
from ml.inference import read_model_card
from ml.labels import LABELS
from ml.models import ARCHITECTURES, build_model, copy_weights, ensemble_members, inference_check, load_model
from ml.preprocessing import INPUT_SHAPE, preprocess_faces

BALANCE_CHOICES = ("none", "weights", "sqrt-weights", "oversample")


@dataclasses.dataclass
class TrainConfig:
    arch: str
    data: str
    out: str
    epochs: int = 30
    batch_size: int = 64
    optimizer: str = "adamw"
    learning_rate: float = 2e-3
    weight_decay: float = 0.01
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.1
    balance: str = "sqrt-weights"
    augment: bool = True
    validation_fraction: float = 0.2
    patience: int = 10
    seed: int = fer_data.DEFAULT_SEED
    weights: str | None = None
    width: int | None = None
    erase_probability: float = 0.5
    limit_per_class: int | None = None
    # Which precision is faster depends on the CPU, so measure with `make bench-train` before a
    # long run: mixed bfloat16 trained the VGG-style net 1.3x faster on an AMD EPYC, and float32
    # 1.5x faster on an Intel Xeon (252 against 166 images/s). ml.models.load_model computes in
    # float32 whatever precision a run trained in, so evaluation and the site run anywhere.
    precision: str = "float32"
    # Warm start: begin from this .keras model's weights (same architecture and width), as when
    # a later session continues training the shipped model with a fresh schedule.
    init_from: str | None = None
    # Which net of an ensemble `init_from` names (1-based, as ml.ship's card lists them).
    init_member: int | None = None


PRECISION_CHOICES = ("float32", "mixed_bfloat16")


class FerBatches(keras.utils.PyDataset):
    """Shuffled, augmented batches of (faces, one-hot labels, sample weights)."""

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        batch_size: int,
        *,
        seed: int,
        augment: bool,
        class_weights: np.ndarray | None = None,
        oversample: bool = False,
        shuffle: bool = True,
        first_epoch: int = 0,
        augment_config: AugmentConfig | None = None,
    ):
        super().__init__()
        self.images = images
        self.labels = labels
        self.batch_size = batch_size
        self.seed = seed
        self.augment = augment
        self.class_weights = class_weights
        self.oversample = oversample
        self.shuffle = shuffle
        self.epoch = first_epoch
        self.augment_config = augment_config or AugmentConfig()
        self._order = self._epoch_order()

    def _epoch_order(self) -> np.ndarray:
        rng = np.random.default_rng([self.seed, self.epoch])
        order = fer_data.oversample_indices(self.labels, rng) if self.oversample else np.arange(len(self.labels))
        if self.shuffle:
            rng.shuffle(order)
        return order

    def __len__(self) -> int:
        return math.ceil(len(self._order) / self.batch_size)

    def __getitem__(self, index: int):
        chosen = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        faces = self.images[chosen]
        if self.augment:
            faces = augment_batch(faces, np.random.default_rng([self.seed, self.epoch, index]), self.augment_config)
        x = preprocess_faces(faces)
        y = keras.utils.to_categorical(self.labels[chosen], len(LABELS)).astype("float32")
        if self.class_weights is None:
            return x, y
        return x, y, self.class_weights[self.labels[chosen]]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._order = self._epoch_order()


def learning_rate_at(step: int, steps_per_epoch: int, config: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to zero at the last planned step."""
    total = max(1, config.epochs * steps_per_epoch)
    warmup = int(config.warmup_epochs * steps_per_epoch)
    if step < warmup:
        return config.learning_rate * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return config.learning_rate * 0.5 * (1 + math.cos(math.pi * progress))


class CosineSchedule(keras.callbacks.Callback):
    """Sets the learning rate every batch from the global step, so a resumed run continues the same curve."""

    def __init__(self, config: TrainConfig, steps_per_epoch: int):
        super().__init__()
        self.config = config
        self.steps_per_epoch = steps_per_epoch
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        step = self.epoch * self.steps_per_epoch + batch
        self.model.optimizer.learning_rate = learning_rate_at(step, self.steps_per_epoch, self.config)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))


class RunKeeper(keras.callbacks.Callback):
    """Checkpoint every epoch, keep the best one, stop early, and write the history as it grows.

    Its own early stopping (rather than keras.callbacks.EarlyStopping) keeps
    its counters in state.json, so `--resume` does not forget them.
    """

    def __init__(self, out: Path, state: dict, patience: int):
        super().__init__()
        self.out = out
        self.state = state
        self.patience = patience
        self.epoch_started = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        record = {key: float(value) for key, value in logs.items()}
        record["epoch"] = epoch + 1
        record["seconds"] = round(time.time() - self.epoch_started, 1)
        self.state["history"].append(record)
        self.state["epoch"] = epoch + 1
        # Without a validation set the last epoch of the fixed schedule is the model: training
        # accuracy would pick the most overfitted epoch, not the best one.
        val_accuracy = record.get("val_accuracy")
        if val_accuracy is None or val_accuracy > self.state["best_val_accuracy"]:
            if val_accuracy is not None:
                self.state["best_val_accuracy"] = val_accuracy
            self.state["best_epoch"] = epoch + 1
            self.state["wait"] = 0
            self.model.save(self.out / "best.keras")
        else:
            self.state["wait"] += 1
        # Write to a temporary name first: a run killed mid-save must not leave a broken checkpoint.
        self.model.save(self.out / "checkpoint.tmp.keras")
        os.replace(self.out / "checkpoint.tmp.keras", self.out / "checkpoint.keras")
        _write_json(self.out / "state.json", self.state)
        _write_json(self.out / "history.json", self.state["history"])
        plot_history(self.state["history"], self.out / "curves.png", best_epoch=self.state["best_epoch"])
        if self.state["wait"] >= self.patience:
            print(f"\nNo better validation accuracy for {self.patience} epochs: stopping.", flush=True)
            self.model.stop_training = True


def _write_json(path: Path, payload) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(tmp, path)


def plot_history(history: list[dict], path: Path, best_epoch: int | None = None) -> None:
    """Accuracy and loss curves, train against validation, with the best epoch marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [record["epoch"] for record in history]
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for axis, metric in zip(axes, ("accuracy", "loss"), strict=True):
        axis.plot(epochs, [r.get(metric) for r in history], label=f"train {metric}")
        if any(f"val_{metric}" in r for r in history):
            axis.plot(epochs, [r.get(f"val_{metric}") for r in history], label=f"validation {metric}")
        if best_epoch:
            axis.axvline(best_epoch, color="grey", linestyle=":", label=f"best epoch ({best_epoch})")
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def make_optimizer(config: TrainConfig) -> keras.optimizers.Optimizer:
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(learning_rate=config.learning_rate, weight_decay=config.weight_decay)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(
            learning_rate=config.learning_rate, momentum=0.9, nesterov=True, weight_decay=config.weight_decay
        )
    raise ValueError(f"Unknown optimizer {config.optimizer!r}; choose adamw or sgd.")


def compile_model(model: keras.Model, config: TrainConfig) -> keras.Model:
    model.compile(
        optimizer=make_optimizer(config),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )
    return model


def train(
    config: TrainConfig, *, resume: bool = False, command: str | None = None, verbose: int | str = "auto"
) -> Path:
    """Train (or resume) a run in `config.out`; returns the path of the best model."""
    out = Path(config.out)
    config, state = run_state_resumed(config, out, command) if resume else (config, run_state_new(config, out, command))
    if state["epoch"] >= config.epochs or state["wait"] >= config.patience:
        print(f"{out} has already finished ({state['epoch']} epochs).")
        return _finish(out, state)
    if config.precision not in PRECISION_CHOICES:
        raise ValueError(f"Unknown --precision {config.precision!r}; choose one of {', '.join(PRECISION_CHOICES)}.")
    keras.mixed_precision.set_global_policy(config.precision)
    keras.utils.set_random_seed(config.seed + state["epoch"])
    data = training_data(config, first_epoch=state["epoch"])
    if resume:
        model = keras.models.load_model(out / "checkpoint.keras")
        print(f"Resuming {out} after epoch {state['epoch']} (best so far {state['best_val_accuracy']:.4f}).")
    else:
        model = compile_model(model_new(config), config)
        inference_check(model, preprocess_faces(data.train_part.images[:64]), precision=config.precision)
        # Only now: a run refused for its data, its warm start or its precision leaves no empty run folder behind.
        out.mkdir(parents=True, exist_ok=True)
        _write_json(out / "run.json", run_record(config, command, model, data))
    callbacks = [CosineSchedule(config, len(data.batches)), RunKeeper(out, state, config.patience)]
    model.fit(
        data.batches,
        validation_data=data.validation,
        batch_size=config.batch_size,
        epochs=config.epochs,
        initial_epoch=state["epoch"],
        callbacks=callbacks,
        verbose=verbose,
    )
    return _finish(out, state)


def run_state_new(config: TrainConfig, out: Path, command: str | None) -> dict:
    """The state of a run about to start; refuses a folder that already holds one."""
    if (out / "checkpoint.keras").exists():
        raise FileExistsError(f"{out} already holds a run: pass --resume to continue it or choose another --out.")
    return {
        "config": dataclasses.asdict(config),
        "epoch": 0,
        "best_epoch": 0,
        "best_val_accuracy": -1.0,
        "wait": 0,
        "history": [],
        "commands": [command],
    }


def run_state_resumed(config: TrainConfig, out: Path, command: str | None) -> tuple[TrainConfig, dict]:
    """The recipe and state of the run in `out`; a resumed run keeps its recipe, only a longer --epochs extends it."""
    state_path = out / "state.json"
    if not state_path.exists() or not (out / "checkpoint.keras").exists():
        raise FileNotFoundError(f"Nothing to resume in {out}: no state.json and checkpoint.keras there.")
    state = json.loads(state_path.read_text())
    saved = TrainConfig(**state["config"])
    config = dataclasses.replace(saved, epochs=max(config.epochs, saved.epochs), data=config.data, out=config.out)
    state["config"] = dataclasses.asdict(config)
    state.setdefault("commands", []).append(command)
    return config, state


@dataclasses.dataclass
class TrainingData:
    train_part: fer_data.Split
    validation_part: fer_data.Split
    report: fer_data.LoadReport
    class_weights: np.ndarray | None
    batches: FerBatches
    validation: tuple[np.ndarray, np.ndarray] | None


def training_data(config: TrainConfig, *, first_epoch: int) -> TrainingData:
    """FER-2013's train folder split into the run's training and validation parts, batched as the recipe says."""
    started = time.time()
    train_split, report = fer_data.load_split(config.data, "train", config.limit_per_class)
    train_part, validation_part = fer_data.stratified_split(train_split, config.validation_fraction, config.seed)
    print(
        f"Loaded {len(train_split)} training images in {time.time() - started:.0f}s "
        f"({len(report.anomalies)} anomalies): {len(train_part)} train, {len(validation_part)} validation.",
        flush=True,
    )
    weights = balance_weights(config, train_part.labels)
    batches = FerBatches(
        train_part.images,
        train_part.labels,
        config.batch_size,
        seed=config.seed,
        augment=config.augment,
        class_weights=weights,
        oversample=config.balance == "oversample",
        first_epoch=first_epoch,
        augment_config=AugmentConfig(erase_probability=config.erase_probability),
    )
    validation = None
    if len(validation_part):
        validation = (
            preprocess_faces(validation_part.images),
            keras.utils.to_categorical(validation_part.labels, len(LABELS)).astype("float32"),
        )
    return TrainingData(train_part, validation_part, report, weights, batches, validation)


def balance_weights(config: TrainConfig, labels: np.ndarray) -> np.ndarray | None:
    """Per-class sample weights for the recipe's --balance (none for "none" and "oversample")."""
    if config.balance not in BALANCE_CHOICES:
        raise ValueError(f"Unknown --balance {config.balance!r}; choose one of {', '.join(BALANCE_CHOICES)}.")
    if config.balance == "weights":
        return fer_data.class_weights(labels, power=1.0)
    if config.balance == "sqrt-weights":
        return fer_data.class_weights(labels, power=0.5)
    return None


def model_new(config: TrainConfig) -> keras.Model:
    """The run's untrained model, or a warm start from `init_from` (its `init_member` for an ensemble)."""
    model = build_model(config.arch, INPUT_SHAPE, len(LABELS), weights=config.weights, width=config.width)
    if config.init_from:
        copy_weights(warm_start_source(config.init_from, config.init_member), model)
        member = f" (net {config.init_member})" if config.init_member else ""
        print(f"Starting from the weights of {config.init_from}{member}.", flush=True)
    return model


def run_record(config: TrainConfig, command: str | None, model: keras.Model, data: TrainingData) -> dict:
    """What run.json keeps: the command, recipe, software, data counts and anomalies."""
    return {
        "command": command,
        "seed": config.seed,
        "config": dataclasses.asdict(config),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "parameters": model.count_params(),
        # The shipped file a warm start read gets replaced later; its version says which it was.
        "init_from_version": read_model_card(config.init_from).get("version") if config.init_from else None,
        "train_counts": data.train_part.counts(),
        "validation_counts": data.validation_part.counts(),
        "class_weights": None
        if data.class_weights is None
        else dict(zip(LABELS, map(float, data.class_weights), strict=True)),
        "anomalies": [a.as_dict() if hasattr(a, "as_dict") else dataclasses.asdict(a) for a in data.report.anomalies],
    }


def warm_start_source(path: str, member: int | None) -> keras.Model:
    """The net a warm start copies: the model in `path`, or its `member`-th net when it is an ensemble."""
    nets = ensemble_members(load_model(path))
    count = len(nets)
    if member is None:
        if count > 1:
            raise ValueError(f"{path} is an ensemble of {count} nets: choose one with --init-member 1..{count}.")
        return nets[0]
    if not 1 <= member <= count:
        raise ValueError(f"{path} holds {count} net(s): --init-member must be between 1 and {count}.")
    return nets[member - 1]


def _finish(out: Path, state: dict) -> Path:
    """Keep the best epoch as model.keras (the early-stopping restore)."""
    best = out / "best.keras"
    final = out / "model.keras"
    if best.exists():
        final.write_bytes(best.read_bytes())
    if state["config"]["validation_fraction"] == 0:
        print(f"No validation set: kept the last epoch ({state['best_epoch']}); saved {final}.")
    else:
        print(
            f"Best validation accuracy {state['best_val_accuracy']:.4f} at epoch {state['best_epoch']}; saved {final}."
        )
    return final


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = TrainConfig(arch="", data="", out="")
    parser = argparse.ArgumentParser(prog="python -m ml.train", description=__doc__.split("\n")[1])
    parser.add_argument("--arch", required=True, choices=sorted(ARCHITECTURES))
    parser.add_argument("--data", required=True, help="FER-2013 folder holding train/ and test/")
    parser.add_argument("--out", required=True, help="run folder (checkpoints, history, model)")
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--optimizer", choices=("adamw", "sgd"), default=defaults.optimizer)
    parser.add_argument("--lr", type=float, default=defaults.learning_rate, help="peak learning rate")
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    parser.add_argument("--warmup-epochs", type=float, default=defaults.warmup_epochs)
    parser.add_argument("--label-smoothing", type=float, default=defaults.label_smoothing)
    parser.add_argument("--balance", choices=BALANCE_CHOICES, default=defaults.balance, help="class-imbalance handling")
    parser.add_argument("--no-augment", action="store_true")
    parser.add_argument("--validation-fraction", type=float, default=defaults.validation_fraction)
    parser.add_argument("--patience", type=int, default=defaults.patience, help="early-stopping patience (epochs)")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--weights", default=None, help="'imagenet' for efficientnetb0/vgg16 where it can be fetched")
    parser.add_argument("--width", type=int, default=None, help="first-stage filters of vggnet/resnet")
    parser.add_argument("--erase-probability", type=float, default=defaults.erase_probability)
    parser.add_argument("--precision", choices=PRECISION_CHOICES, default=defaults.precision)
    parser.add_argument(
        "--init-from", default=None, help="start from this .keras model's weights (same --arch/--width)"
    )
    parser.add_argument(
        "--init-member", type=int, default=None, help="with an ensemble --init-from, the net to start from (1-based)"
    )
    parser.add_argument("--limit-per-class", type=int, default=None, help="use only the first N images per class")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    args = parser.parse_args(argv)
    if args.init_member is not None and args.init_from is None:
        parser.error("--init-member picks a net of the --init-from model: pass --init-from as well.")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    config = TrainConfig(
        arch=args.arch,
        data=args.data,
        out=args.out,
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        learning_rate=args.lr,
        weight_decay=args.weight_decay,
        warmup_epochs=args.warmup_epochs,
        label_smoothing=args.label_smoothing,
        balance=args.balance,
        augment=not args.no_augment,
        validation_fraction=args.validation_fraction,
        patience=args.patience,
        seed=args.seed,
        weights=args.weights,
        width=args.width,
        erase_probability=args.erase_probability,
        limit_per_class=args.limit_per_class,
        precision=args.precision,
        init_from=args.init_from,
        init_member=args.init_member,
    )
    command = "python -m ml.train " + shlex.join(sys.argv[1:] if argv is None else argv)
    with refusals_as_errors("python -m ml.train"):
        train(config, resume=args.resume, command=command, verbose=1 if sys.stdout.isatty() else 2)


if __name__ == "__main__":
    main()
