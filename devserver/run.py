"""`make run`: one foreground command for the whole site on this machine.

Migrates, seeds the song catalog when it is empty, then runs Redis (embedded,
unless REDIS_URL names one), one Celery worker, Celery beat and the web server
under honcho, each started again whenever it stops. Ctrl-C stops all of them.
"""

import os
import shlex
import subprocess
import sys
from pathlib import Path

from honcho.manager import Manager
from honcho.printer import Printer

from devserver import embedded_redis

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
BIN_DIR = Path(sys.executable).parent


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], check=True, env=env, cwd=BASE_DIR)


def main() -> int:
    port = os.environ.get("PORT", "8000")
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "emomusic_site.settings")
    env.setdefault("PYTHONUNBUFFERED", "1")
    (VAR_DIR / "run").mkdir(parents=True, exist_ok=True)

    processes: dict[str, list[str]] = {}
    if env.get("REDIS_URL"):
        print(f"Using Redis at {env['REDIS_URL']}")
    else:
        socket_path = VAR_DIR / "run" / "redis.sock"
        env["REDIS_URL"] = f"redis+socket://{socket_path}"
        processes["redis"] = embedded_redis.supervised_command(socket_path=socket_path, data_dir=VAR_DIR / "redis")
        print(f"Starting the embedded Redis on {socket_path}")
    print(f"Using the database at {env.get('DATABASE_URL') or VAR_DIR / 'db.sqlite3'}")

    manage("migrate", "--noinput", env=env)
    manage("createcachetable", env=env)
    manage("seed_catalog", env=env)
    if env.get("DJANGO_SUPERUSER_USERNAME") and env.get("DJANGO_SUPERUSER_PASSWORD"):
        manage("ensure_superuser", env=env)

    celery = str(BIN_DIR / "celery")
    processes["worker"] = [
        celery,
        "-A",
        "emomusic_site",
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        "1",
        "--hostname",
        "worker@%h",
    ]
    processes["beat"] = [
        celery,
        "-A",
        "emomusic_site",
        "beat",
        "--loglevel",
        "INFO",
        "--schedule",
        str(VAR_DIR / "run" / "celerybeat-schedule"),
    ]
    processes["web"] = [
        str(BIN_DIR / "gunicorn"),
        "emomusic_site.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--threads",
        "4",
        "--access-logfile",
        "-",
    ]

    print(
        f"\n  EmoMusic: http://127.0.0.1:{port}/\n"
        "  An admin account: set DJANGO_SUPERUSER_USERNAME, DJANGO_SUPERUSER_PASSWORD (and DJANGO_SUPERUSER_EMAIL)\n"
        "  before `make run`, or run `.venv/bin/python manage.py createsuperuser` in another terminal.\n"
        "  Django's debug pages: `DEBUG=1 make run`.\n"
        "  Ctrl-C stops everything.\n",
        flush=True,
    )
    return supervise(processes, env=env, cwd=BASE_DIR)


def supervise(processes: dict[str, list[str]], *, env: dict[str, str], cwd: Path) -> int:
    """Run each command under honcho until Ctrl-C (SIGINT or SIGTERM), each one started again whenever it stops.

    honcho alone stops everything as soon as one process exits; `keep_running` between honcho and each
    command means a process ends only when honcho asks, so a killed Redis or worker comes back alone.
    """
    keep_running = [sys.executable, "-m", "devserver.keep_running"]
    manager = Manager(Printer(sys.stdout))
    for name, command in processes.items():
        manager.add_process(name, shlex.join([*keep_running, *command]), env=env, cwd=str(cwd))
    manager.loop()
    return manager.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
