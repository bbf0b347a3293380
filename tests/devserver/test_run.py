import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from devserver import embedded_redis

BASE_DIR = Path(__file__).resolve().parents[2]

# Records its pid, then waits; SIGTERM makes it exit 0, as a Celery worker's warm shutdown does.
WORKER = (
    "import os, signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
    "open(sys.argv[1], 'a').write(f'{os.getpid()}\\n')\n"
    "time.sleep(120)\n"
)


def _wait_for(condition, *, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} within {seconds:.0f} s")


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _redis_pid(socket_path: Path) -> int | None:
    try:
        return int(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).info("server")["process_id"])
    except (redis.ConnectionError, FileNotFoundError):
        return None


def _pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def test_a_stopped_process_comes_back_and_ctrl_c_stops_everything(tmp_path):
    socket_path, starts = tmp_path / "redis.sock", tmp_path / "worker-starts"
    processes = {
        "redis": embedded_redis.supervised_command(socket_path=socket_path, data_dir=tmp_path),
        "worker": [sys.executable, "-c", WORKER, str(starts)],
    }
    script = (
        "import os, sys\nfrom pathlib import Path\nfrom devserver.run import supervise\n"
        f"sys.exit(supervise({processes!r}, env=dict(os.environ), cwd=Path({str(BASE_DIR)!r})))\n"
    )
    log = tmp_path / "supervisor.log"
    with open(log, "wb") as output:
        supervisor = subprocess.Popen([sys.executable, "-c", script], cwd=BASE_DIR, stdout=output, stderr=output)
    seen_redis: list[int] = []
    try:
        first_redis = _wait_for(lambda: _redis_pid(socket_path), seconds=30, what="Redis answered")
        seen_redis.append(first_redis)
        first_worker = _wait_for(lambda: _pids(starts), seconds=30, what="the worker started")[0]

        os.kill(first_redis, signal.SIGKILL)
        second_redis = _wait_for(
            lambda: (pid := _redis_pid(socket_path)) not in (None, first_redis) and pid,
            seconds=20,
            what="a killed Redis was started again",
        )
        seen_redis.append(second_redis)
        assert _pids(starts) == [first_worker] and _alive(first_worker)

        os.kill(first_worker, signal.SIGTERM)  # a clean exit 0 is restarted too
        _wait_for(lambda: len(_pids(starts)) == 2, seconds=20, what="a worker that exited 0 was started again")
        assert _redis_pid(socket_path) == second_redis
        assert supervisor.poll() is None

        began = time.monotonic()
        supervisor.send_signal(signal.SIGINT)  # Ctrl-C
        supervisor.wait(timeout=15)
        assert time.monotonic() - began < 10
        leftovers = [pid for pid in [*_pids(starts), *seen_redis] if _alive(pid)]
        assert leftovers == []
    except BaseException:
        print(log.read_text(errors="replace"))
        raise
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait(timeout=10)
        for pid in [*_pids(starts), *seen_redis]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
