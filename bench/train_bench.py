"""Training throughput of the model builders on this machine, float32 against mixed bfloat16.

    .venv/bin/python bench/train_bench.py --arch vggnet --widths 16 32 --batch-size 128
    .venv/bin/python bench/train_bench.py --arch cnn resnet efficientnetb0 vgg16 --widths

Fits each model on random faces and times the training steps after the first
few (which trace and compile the step, and would otherwise dominate a short
run), then prints images per second and what an epoch of FER-2013's 22,968
training faces would take. Stop other heavy work first: on a shared 2-core
machine the figure is whatever the neighbours leave.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras
import numpy as np

from ml.runtime.labels import LABELS
from ml.training.models import build_model

TRAIN_IMAGES = 22_968
WARM_UP_STEPS = 3


class StepTimer(keras.callbacks.Callback):
    """Seconds spent on the steps after the warm-up ones."""

    def __init__(self) -> None:
        super().__init__()
        self.started = 0.0
        self.seconds = 0.0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if batch == WARM_UP_STEPS - 1:
            self.started = time.perf_counter()
        elif batch >= WARM_UP_STEPS:
            self.seconds = time.perf_counter() - self.started


def measure(arch: str, width: int | None, precision: str, batch_size: int, batches: int) -> dict:
    keras.mixed_precision.set_global_policy(precision)
    try:
        model = build_model(arch, width=width)
        model.compile(optimizer=keras.optimizers.AdamW(1e-3), loss="categorical_crossentropy")
        rng = np.random.default_rng(0)
        x = rng.uniform(0, 255, (batch_size * (WARM_UP_STEPS + batches), 48, 48, 1)).astype("float32")
        y = keras.utils.to_categorical(rng.integers(0, len(LABELS), len(x)), len(LABELS))
        timer = StepTimer()
        model.fit(x, y, batch_size=batch_size, verbose=0, callbacks=[timer])
        rate = batches * batch_size / timer.seconds
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return {
        "arch": arch,
        "width": width,
        "precision": precision,
        "parameters": model.count_params(),
        "images_per_s": rate,
        "epoch_s": TRAIN_IMAGES / rate,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", nargs="+", default=["vggnet"])
    parser.add_argument("--widths", type=int, nargs="*", default=[16, 32], help="for vggnet/resnet; none for others")
    parser.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--batches", type=int, default=12, help="timed steps, after the warm-up ones")
    args = parser.parse_args(argv)

    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, batch {args.batch_size}")
    print(f"{'arch':<16}{'width':>6}{'precision':>16}{'parameters':>12}{'images/s':>10}{'epoch':>9}")
    for arch in args.arch:
        for width in args.widths or [None]:
            for precision in args.precisions:
                row = measure(arch, width, precision, args.batch_size, args.batches)
                print(
                    f"{row['arch']:<16}{row['width'] or '':>6}{row['precision']:>16}{row['parameters']:>12,}"
                    f"{row['images_per_s']:>10.0f}{row['epoch_s']:>8.0f}s",
                    flush=True,
                )


if __name__ == "__main__":
    main()
