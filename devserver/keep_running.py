"""Run a command again whenever it dies, until it is asked to stop: `make run`'s Celery worker and beat.

honcho stops every process as soon as one exits, so a worker killed by the
kernel (out of memory) or by hand took Redis and the web server down with it.

    python -m emomusic_site.keep_running COMMAND [ARGS...]
"""

import signal
import subprocess
import sys
import time

RESTART_AFTER_SECONDS = 2.0


def main(command: list[str]) -> int:
    state: dict = {"stopping": False, "child": None}

    def stop(signum, _frame) -> None:
        state["stopping"] = True
        if state["child"] is not None and state["child"].poll() is None:
            state["child"].send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        state["child"] = subprocess.Popen(command)
        code = state["child"].wait()
        if state["stopping"] or code == 0:
            return code
        print(f"{command[0]} exited with {code}; starting it again in {RESTART_AFTER_SECONDS:.0f} s", flush=True)
        time.sleep(RESTART_AFTER_SECONDS)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
