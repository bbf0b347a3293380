"""Run a command again whenever it stops, until it is asked to stop: every process of `make run`.

honcho stops every process as soon as one exits, so one process that stopped
(Redis killed, a worker killed for memory, or a worker's clean exit 0 after a
SIGTERM of its own) took the whole site down with it. Under this runner honcho
sees a process end only when it asked: its SIGTERM goes to the whole process
group, this runner and its command alike, and the runner then stops too.

    python -m devserver.keep_running COMMAND [ARGS...]
"""

import signal
import subprocess
import sys
import time

RESTART_AFTER_SECONDS = 2.0
# A command that cannot start at all (its port taken, a wrong setting) is given up on, which stops
# `make run` with its error on screen, rather than restarted forever.
GIVE_UP_AFTER_QUICK_EXITS = 5
QUICK_EXIT_SECONDS = 10.0


def main(command: list[str]) -> int:
    state: dict = {"stopping": None, "child": None}

    def stop(signum, _frame) -> None:
        state["stopping"] = signum
        if state["child"] is not None and state["child"].poll() is None:
            state["child"].send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    quick_exits = 0
    while state["stopping"] is None:
        started = time.monotonic()
        child = state["child"] = subprocess.Popen(command)
        if state["stopping"] is not None:
            # Asked to stop while the command was being started, before the signal could be passed on.
            child.send_signal(state["stopping"])
        code = child.wait()
        if state["stopping"] is not None:
            return code if code >= 0 else 128 - code
        quick_exits = quick_exits + 1 if time.monotonic() - started < QUICK_EXIT_SECONDS else 0
        if quick_exits >= GIVE_UP_AFTER_QUICK_EXITS:
            print(f"{command[0]} exited {quick_exits} times in a row right after starting; giving up", flush=True)
            return code if code > 0 else 1
        # Any end it was not asked for, a clean exit 0 included: a server that stops is not done.
        print(f"{command[0]} exited with {code}; starting it again in {RESTART_AFTER_SECONDS:.0f} s", flush=True)
        # In short sleeps: a stop during the pause must not wait for it, nor start the command again.
        restart_at = time.monotonic() + RESTART_AFTER_SECONDS
        while state["stopping"] is None and time.monotonic() < restart_at:
            time.sleep(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
