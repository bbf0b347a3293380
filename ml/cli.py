"""What the `python -m ml.*` commands share."""

from __future__ import annotations

import contextlib
import shlex
import sys
from collections.abc import Iterator

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
