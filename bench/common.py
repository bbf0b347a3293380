"""What the benchmarks that start the site share: its production environment in a throwaway folder,
gunicorn as production runs it, starting, waiting for and stopping processes, and percentiles.

The scripts run as `python bench/<name>.py`; each puts the repository on sys.path and imports this
module as `bench.common`.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

BASE_DIR = Path(__file__).resolve().parent.parent


def production_env(workdir: Path, **settings: str) -> dict[str, str]:
    """The environment of `DJANGO_ENV=production` on this machine: a fresh SECRET_KEY, plain HTTP on
    127.0.0.1, photos and static files under `workdir`; `settings` add to it or replace its values."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "emomusic_site.settings",
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "MEDIA_ROOT": str(workdir / "media"),
        "STATIC_ROOT": str(workdir / "static"),
        "PYTHONUNBUFFERED": "1",
        **settings,
    }


def manage(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`manage.py` with these arguments; a failure raises, its output captured."""
    return subprocess.run(
        [sys.executable, "manage.py", *arguments], cwd=BASE_DIR, env=env, check=True, capture_output=True, text=True
    )


def gunicorn_command(port: int) -> list[str]:
    """gunicorn as the Procfile runs it (WEB_CONCURRENCY processes x WEB_THREADS threads), on 127.0.0.1:`port`."""
    return [sys.executable, "-m", "gunicorn", "emomusic_site.wsgi", "--bind", f"127.0.0.1:{port}",
            "--workers", os.environ.get("WEB_CONCURRENCY", "3"),
            "--threads", os.environ.get("WEB_THREADS", "4")]  # fmt: skip


def spawn(command: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen:
    """`command` in a process group of its own (stop() ends its children too), its output appended to `log`."""
    with open(log, "ab") as output:
        return subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process: subprocess.Popen, *, timeout_seconds: float = 30) -> None:
    """SIGTERM to the process's group, SIGKILL if it has not ended within `timeout_seconds`."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def wait_until(ready: Callable[[], bool], *, timeout_seconds: float, interval_seconds: float = 0.5) -> bool:
    """Whether `ready()` came true within `timeout_seconds`, asking every `interval_seconds`."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if ready():
            return True
        time.sleep(interval_seconds)
    return False


def answers(url: str) -> bool:
    """Whether a GET of `url` answers 200 now."""
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def markdown_table(header: list[str], align: str, rows: list[list[str]]) -> list[str]:
    """A Markdown table's lines; `align` has one letter a column: l (left) or r (right)."""
    rules = [{"l": "---", "r": "---:"}[letter] for letter in align]
    return ["| " + " | ".join(cells) + " |" for cells in (header, rules, *rows)]
