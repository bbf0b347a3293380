"""What the `python -m ml.*` commands share."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

# What the commands record for FER-2013's folder: its variable, as the README's commands name it, never where it
# lay on the machine that ran them.
DATA_VARIABLE = "$FER_DATA"

# What the commands raise when they refuse what they were asked: a missing data folder or model, a run folder
# that already holds a run, a choice that does not fit the run (an ensemble member nothing describes, say).
REFUSALS = (FileNotFoundError, FileExistsError, ValueError)


@contextlib.contextmanager
def refusals_as_errors(prog: str) -> Iterator[None]:
    """Report a refusal as argparse reports a bad argument: one line on stderr and exit status 2, no traceback."""
    try:
        yield
    except REFUSALS as error:
        sys.stderr.write(f"{prog}: error: {error}\n")
        raise SystemExit(2) from None


def portable(command: str, data: str) -> str:
    """A recorded command with the data folder `data` named by DATA_VARIABLE."""
    words = shlex.split(command)
    return " ".join(DATA_VARIABLE if word == data else shlex.quote(word) for word in words)


def history_read(history_csv: Path) -> list[dict[str, float]]:
    """A run's history.csv as numbers, one dict an epoch ("epoch" counted from 1); CSVLogger's "NA" left out."""
    if not history_csv.is_file():
        return []
    with history_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        {key: float(value) + (key == "epoch") for key, value in row.items() if value not in ("", "NA")} for row in rows
    ]


def config_from(config_class, args, **others):
    """The recipe dataclass filled from parsed arguments of the same names, and `others` for the rest."""
    names = {field.name for field in dataclasses.fields(config_class)}
    return config_class(**{name: value for name, value in vars(args).items() if name in names}, **others)


def command_run(prog: str, argv: list[str] | None, run) -> None:
    """Run `run(command=..., verbose=...)` with the command line recorded and refusals reported in one line."""
    command = f"{prog} " + shlex.join(sys.argv[1:] if argv is None else argv)
    with refusals_as_errors(prog):
        run(command=command, verbose=1 if sys.stdout.isatty() else 2)
