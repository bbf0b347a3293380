import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from devserver import keep_running


def test_a_killed_command_is_started_again_and_a_terminated_one_stops(tmp_path):
    starts = tmp_path / "starts"
    script = f"import os, time; open({str(starts)!r}, 'a').write(str(os.getpid()) + '\\n'); time.sleep(60)"
    runner = subprocess.Popen([sys.executable, "-m", "devserver.keep_running", sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 20
        while not starts.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        first = int(starts.read_text().split()[0])
        subprocess.run(["kill", "-9", str(first)], check=True)  # as the kernel's OOM killer would
        while len(starts.read_text().split()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(starts.read_text().split()) == 2
        assert runner.poll() is None

        runner.send_signal(signal.SIGTERM)
        runner.wait(timeout=10)
        assert len(starts.read_text().split()) == 2
    finally:
        if runner.poll() is None:
            runner.kill()


def _start_runner(tmp_path, script: str) -> tuple[subprocess.Popen, Path]:
    starts = tmp_path / "starts"
    runner = subprocess.Popen(
        [sys.executable, "-m", "devserver.keep_running", sys.executable, "-c", script, str(starts)]
    )
    return runner, starts


def _wait_for_starts(starts, count: int, *, seconds: float = 20) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if starts.exists() and len(pids := starts.read_text().split()) >= count:
            return [int(pid) for pid in pids]
        time.sleep(0.05)
    raise AssertionError(f"{count} starts within {seconds} s")


# Exits 0 on SIGTERM, as a Celery worker's warm shutdown does.
CLEAN_EXIT = (
    "import os, signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
    "open(sys.argv[1], 'a').write(f'{os.getpid()}\\n')\n"
    "time.sleep(60)\n"
)


def test_a_command_that_exits_cleanly_is_started_again(tmp_path):
    runner, starts = _start_runner(tmp_path, CLEAN_EXIT)
    try:
        first = _wait_for_starts(starts, 1)[0]
        os.kill(first, signal.SIGTERM)
        assert _wait_for_starts(starts, 2)[0] == first
        assert runner.poll() is None
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.wait(timeout=10)


def test_a_stop_during_the_pause_before_a_restart_stops_at_once(tmp_path):
    runner, starts = _start_runner(tmp_path, CLEAN_EXIT)
    try:
        first = _wait_for_starts(starts, 1)[0]
        os.kill(first, signal.SIGKILL)
        time.sleep(0.5)  # inside the pause before the restart
        runner.send_signal(signal.SIGTERM)
        runner.wait(timeout=2)
        time.sleep(keep_running.RESTART_AFTER_SECONDS)
        assert len(starts.read_text().split()) == 1
    finally:
        if runner.poll() is None:
            runner.kill()
        for pid in starts.read_text().split() if starts.exists() else []:
            if os.path.exists(f"/proc/{pid}"):
                os.kill(int(pid), signal.SIGKILL)


def test_a_command_that_cannot_start_is_given_up_on(tmp_path):
    # A web server whose port is taken exits at once each time: restarting it forever would hide that.
    runner, starts = _start_runner(
        tmp_path, "import os, sys; open(sys.argv[1], 'a').write(f'{os.getpid()}\\n'); sys.exit(3)"
    )
    try:
        assert runner.wait(timeout=30) == 3
        assert len(starts.read_text().split()) == keep_running.GIVE_UP_AFTER_QUICK_EXITS
    finally:
        if runner.poll() is None:
            runner.kill()
