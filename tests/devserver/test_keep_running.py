import signal
import subprocess
import sys
import time


def test_a_killed_command_is_started_again_and_a_terminated_one_stops(tmp_path):
    starts = tmp_path / "starts"
    script = f"import os, time; open({str(starts)!r}, 'a').write(str(os.getpid()) + '\\n'); time.sleep(60)"
    runner = subprocess.Popen([sys.executable, "-m", "emomusic_site.keep_running", sys.executable, "-c", script])
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
