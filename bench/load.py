"""Load test: Locust's user journey (locustfile.py) against a production-like stack.

    make bench-load
    .venv/bin/python bench/load.py --users 10 50 100 --workers 1 2 --run-time 60

The stack, started here and stopped afterwards: gunicorn (3 processes x 4
threads, DJANGO_ENV=production, CONN_MAX_AGE=60), one `celery worker` with
N pool processes (each loads TensorFlow and the model), PostgreSQL (a database
of its own, created beside DATABASE_URL's and dropped afterwards), Redis
(REDIS_URL's, else the embedded one) and an S3 server (SeaweedFS, from
devserver.embedded_s3) holding the photos. The rate limits stay on, except
sign-ups per address: every simulated user comes from 127.0.0.1.

For each worker count and each user count, Locust runs headless until
--run-time seconds after the last simulated user has signed up (sign-up
hashes the password slowly on purpose; on a small machine a crowd of them
would otherwise fill the run) and writes its CSV files and HTML report to
reports/load/workers-N/. Then the queue is left to drain and the database
says what became of every upload made during the run: upload -> done times
(created to finished), completions per second once everyone had signed up,
and lost detections (still queued or processing once drained). The CPU seconds each
part of the stack spent during the run (web, worker, PostgreSQL, Redis, S3, Locust
itself, and whatever else ran on the machine) say where the time went.
reports/load/summary.md and summary.json collect the figures; the exit status is 1
on any error or loss.
"""

import argparse
import csv
import json
import os
import platform
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil
import psycopg

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.common import (  # noqa: E402
    answers,
    gunicorn_command,
    manage,
    markdown_table,
    percentile,
    production_env,
    spawn,
    stop,
    wait_until,
)
from devserver import embedded_redis, embedded_s3  # noqa: E402

REPORTS = BASE_DIR / "reports" / "load"
PENDING = ("queued", "processing")


@dataclass
class Run:
    workers: int
    users: int
    load_average: float
    run_seconds: float = 0.0
    signup_seconds: float = 0.0
    requests: int = 0
    requests_per_second: float = 0.0
    errors: int = 0
    endpoints: dict[str, dict[str, float]] = field(default_factory=dict)
    uploads: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    lost: int = 0
    upload_to_done_p50: float | None = None
    upload_to_done_p95: float | None = None
    completions_per_second: float = 0.0
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    web_worker_rss_mb: float = 0.0  # the largest gunicorn worker's resident memory at the run's end
    failures: list[str] = field(default_factory=list)


class Stack:
    def __init__(self, *, workdir: Path, database_url: str, port: int) -> None:
        self.workdir = workdir
        self.port = port
        self.processes: dict[str, subprocess.Popen] = {}
        self.s3: embedded_s3.S3Server | None = None
        self.redis: subprocess.Popen | None = None
        server = urllib.parse.urlsplit(database_url)
        self.admin_url = database_url
        self.database = f"emomusic_load_{secrets.token_hex(4)}"
        self.database_url = urllib.parse.urlunsplit(server._replace(path=f"/{self.database}"))
        self.env = production_env(
            workdir, DATABASE_URL=self.database_url, CONN_MAX_AGE="60", RATE_LIMIT_SIGNUP_PER_ADDRESS="1000000"
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.database}"')
        self.s3 = embedded_s3.start(data_dir=self.workdir / "s3")
        self.env.update(self.s3.env())
        if not os.environ.get("REDIS_URL"):
            socket_path = self.workdir / "redis.sock"
            self.redis = embedded_redis.start(socket_path=socket_path, data_dir=self.workdir / "redis")
            self.env["REDIS_URL"] = f"redis+socket://{socket_path}"
        for command in (
            ["migrate", "--noinput"],
            ["createcachetable"],
            ["seed_catalog"],
            ["collectstatic", "--noinput"],
        ):
            manage(*command, env=self.env)
        self.spawn("web", gunicorn_command(self.port))
        if not wait_until(lambda: answers(f"{self.base_url}/healthz"), timeout_seconds=120):
            raise RuntimeError(f"gunicorn never answered /healthz; see {self.workdir / 'web.log'}")

    def start_worker(self, processes: int) -> None:
        self.stop_process("worker")
        log = self.workdir / "worker.log"
        log.unlink(missing_ok=True)
        self.spawn(
            "worker",
            [sys.executable, "-m", "celery", "-A", "emomusic_site", "worker", "--loglevel", "INFO",
             "--concurrency", str(processes), "--without-gossip", "--without-mingle"],
        )  # fmt: skip
        worker = self.processes["worker"]

        def loaded() -> bool:
            if worker.poll() is not None:
                raise RuntimeError(f"the worker exited:\n{log.read_text(errors='replace')[-3000:]}")
            return log.exists() and log.read_text(errors="replace").count("Loaded emotion model") >= processes

        # Ready only once every pool process has loaded the model: the first photos must not pay for it.
        if not wait_until(loaded, timeout_seconds=600, interval_seconds=1):
            raise RuntimeError(f"the worker's {processes} processes did not load the model in time; see {log}")

    def spawn(self, name: str, command: list[str]) -> None:
        self.processes[name] = spawn(command, env=self.env, log=self.workdir / f"{name}.log")

    def stop_process(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process:
            stop(process, timeout_seconds=60)

    def stop(self) -> None:
        for name in list(self.processes):
            self.stop_process(name)
        if self.s3:
            self.s3.stop()
        if self.redis:
            self.redis.terminate()
            self.redis.wait(timeout=10)
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def last_signup_since(self, since: datetime) -> datetime | None:
        with psycopg.connect(self.database_url) as connection:
            return connection.execute(
                "SELECT max(date_joined) FROM accounts_user WHERE date_joined >= %s", [since]
            ).fetchone()[0]

    def detections_since(self, since: datetime) -> list[tuple[str, datetime, datetime | None]]:
        with psycopg.connect(self.database_url) as connection:
            return connection.execute(
                "SELECT status, created, finished FROM detection_detection WHERE created >= %s", [since]
            ).fetchall()


# Processes of the stack found by name; what none of these names covers is "other".
PROCESS_NAMES = {"postgres": "PostgreSQL", "redis-server": "Redis", "weed": "S3"}


def _process_seconds(process: psutil.Process, *, reaped_children: bool) -> float:
    """CPU seconds of `process`, with those of its children already ended when `reaped_children`."""
    times = process.cpu_times()
    seconds = times.user + times.system
    return seconds + (times.children_user + times.children_system if reaped_children else 0.0)


def _tree_seconds(pid: int) -> float:
    """A process and its children, live and ended (gunicorn recycles its workers; their time stays in the
    master's children figures once reaped)."""
    try:
        root = psutil.Process(pid)
        return _process_seconds(root, reaped_children=True) + sum(
            _process_seconds(child, reaped_children=False) for child in root.children(recursive=True)
        )
    except psutil.NoSuchProcess:
        return 0.0


def cpu_snapshot(stack: Stack) -> dict[str, float]:
    """CPU seconds so far: the web and worker process trees, the services by name, and the machine's total."""
    seconds = {
        "web": _tree_seconds(stack.processes["web"].pid),
        "worker": _tree_seconds(stack.processes["worker"].pid),
        **dict.fromkeys(PROCESS_NAMES.values(), 0.0),
    }
    for process in psutil.process_iter(["name"]):
        part = PROCESS_NAMES.get(process.info["name"] or "")
        if part is None:
            continue
        try:
            # A service's own children (PostgreSQL's backends) are counted once: live ones by name here, ended
            # ones in the parent's children figures only when the parent is not itself one of them.
            parent = process.parent()
            top = parent is None or (parent.name() or "") not in PROCESS_NAMES
            seconds[part] += _process_seconds(process, reaped_children=top)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    machine = psutil.cpu_times()
    seconds["machine"] = machine.user + machine.nice + machine.system + machine.irq + machine.softirq
    return seconds


def cpu_spent(before: dict[str, float], after: dict[str, float], *, locust_seconds: float) -> dict[str, float]:
    """Seconds each part spent between two snapshots; "other" is the machine's total less every part."""
    spent = {part: round(after[part] - before[part], 1) for part in before if part != "machine"}
    spent["Locust"] = round(locust_seconds, 1)
    total = after["machine"] - before["machine"]
    spent["other"] = round(max(0.0, total - sum(spent.values())), 1)
    spent["total"] = round(total, 1)
    return spent


def web_worker_rss_mb(stack: Stack) -> float:
    """The largest gunicorn worker's resident memory now, in MB: what a long run leaves in a worker that is
    never recycled."""
    try:
        workers = psutil.Process(stack.processes["web"].pid).children()
        return max((worker.memory_info().rss for worker in workers), default=0) / 2**20
    except psutil.NoSuchProcess:
        return 0.0


def _children_seconds() -> float:
    """CPU seconds of this process's waited-for children: during a run, Locust alone."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_locust(stack: Stack, *, out: Path, users: int, workers: int, steady_seconds: int) -> tuple[Path, Path]:
    folder = out / f"workers-{workers}"
    folder.mkdir(parents=True, exist_ok=True)
    prefix, html = folder / f"users-{users}", folder / f"users-{users}.html"
    subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(BASE_DIR / "locustfile.py"), "--headless",
         # --run-time only caps a run whose sign-ups never end; EMOMUSIC_STEADY_SECONDS ends it.
         "--users", str(users), "--spawn-rate", "10", "--run-time", f"{steady_seconds + 900}s",
         "--host", stack.base_url,
         "--csv", str(prefix), "--html", str(html), "--only-summary", "--loglevel", "WARNING"],
        cwd=BASE_DIR,
        env={**os.environ, "EMOMUSIC_STEADY_SECONDS": str(steady_seconds)},
        check=False,
    )  # fmt: skip
    return Path(f"{prefix}_stats.csv"), Path(f"{prefix}_failures.csv")


def read_locust(run: Run, stats_csv: Path, failures_csv: Path) -> None:
    with open(stats_csv, newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["Name"] != "Aggregated"]
    for row in rows:
        if row["Type"] == "DETECTION":
            continue
        run.requests += int(row["Request Count"])
        run.errors += int(row["Failure Count"])
        run.endpoints[f"{row['Type']} {row['Name'].removeprefix('POST ').removeprefix('GET ')}"] = {
            "requests": int(row["Request Count"]),
            "p50_ms": float(row["50%"]),
            "p95_ms": float(row["95%"]),
        }
    run.requests_per_second = run.requests / run.run_seconds
    if failures_csv.exists():
        with open(failures_csv, newline="") as handle:
            run.failures = [f"{row['Name']}: {row['Error']} x{row['Occurrences']}" for row in csv.DictReader(handle)]


def drain(stack: Stack, run: Run, *, since: datetime, ended: datetime, timeout_seconds: float) -> None:
    deadline = time.monotonic() + timeout_seconds
    while True:
        rows = stack.detections_since(since)
        if not any(status in PENDING for status, _, _ in rows) or time.monotonic() > deadline:
            break
        time.sleep(2)
    run.uploads = len(rows)
    run.outcomes = {status: sum(1 for row in rows if row[0] == status) for status in sorted({row[0] for row in rows})}
    run.lost = sum(1 for status, _, _ in rows if status in PENDING)
    seconds = [(finished - created).total_seconds() for status, created, finished in rows if finished is not None]
    if seconds:
        run.upload_to_done_p50 = statistics.median(seconds)
        run.upload_to_done_p95 = percentile(seconds, 0.95)
    # Throughput once every user had signed up: photos finished per second from then to the run's end.
    signed_up = stack.last_signup_since(since) or since
    run.signup_seconds = (signed_up - since).total_seconds()
    steady = [row for row in rows if row[2] is not None and signed_up <= row[2] <= ended]
    run.completions_per_second = len(steady) / max((ended - signed_up).total_seconds(), 1.0)


def machine() -> dict[str, str]:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": fields.get("Model name", platform.processor()).strip(),
        "cores": str(os.cpu_count()),
        "memory": f"{memory:.0f} GiB",
        "python": platform.python_version(),
    }


RUN_COLUMNS = ["worker processes", "users", "load avg", "run", "sign-ups took", "requests", "req/s", "errors",
               "uploads", "lost", "upload → done p50 / p95", "done per s", "web worker RSS"]  # fmt: skip


def _seconds(value: float | None) -> str:
    return f"{value:.1f} s" if value is not None else "-"


def _run_row(run: Run) -> list[str]:
    p50, p95 = _seconds(run.upload_to_done_p50), _seconds(run.upload_to_done_p95)
    return [str(run.workers), str(run.users), f"{run.load_average:.1f}", f"{run.run_seconds:.0f} s",
            f"{run.signup_seconds:.0f} s", str(run.requests), f"{run.requests_per_second:.1f}", str(run.errors),
            str(run.uploads), str(run.lost), f"{p50} / {p95}", f"{run.completions_per_second:.2f}",
            f"{run.web_worker_rss_mb:.0f} MB"]  # fmt: skip


def _p50_p95(figures: dict[str, float] | None) -> str:
    return f"{figures['p50_ms']:.0f} / {figures['p95_ms']:.0f}" if figures else "-"


def _cpu_share(run: Run, part: str) -> str:
    seconds, total = run.cpu_seconds.get(part, 0.0), run.cpu_seconds.get("total", 0.0)
    return f"{seconds:.0f} s ({seconds / total:.0%})" if total else "-"


def write_summary(runs: list[Run], info: dict[str, str], run_seconds: int, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(
        json.dumps({"machine": info, "runs": [asdict(run) for run in runs]}, indent=2, default=str) + "\n"
    )
    lines = [
        "# Load test (`make bench-load`)",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}; Python {info['python']}. "
        f"Each run: users spawned 10 a second, each signing up and then repeating the journey; the run ends "
        f"{run_seconds} s after the last sign-up, then the queue drains. Requests per second are over the "
        "whole run; photos done per second over the part after the last sign-up. The 1-minute load average "
        "before each run shows what else was using the cores. Web worker RSS: the largest gunicorn worker's "
        "resident memory at the run's end.",
        "",
        *markdown_table(RUN_COLUMNS, "r" * len(RUN_COLUMNS), [_run_row(run) for run in runs]),
        "",
        "p50 / p95 per endpoint, ms:",
        "",
        *markdown_table(
            ["endpoint", *(f"{run.users} users, {run.workers} w" for run in runs)],
            "l" + "r" * len(runs),
            [
                [name, *(_p50_p95(run.endpoints.get(name)) for run in runs)]
                for name in sorted({name for run in runs for name in run.endpoints})
            ],
        ),
    ]
    parts = [part for part in runs[0].cpu_seconds if part != "total"] if runs and runs[0].cpu_seconds else []
    if parts:
        lines += [
            "",
            "CPU seconds spent during each run (share of the machine's total), from the processes' own counters:",
            "",
            *markdown_table(
                ["part", *(f"{run.users} users, {run.workers} w" for run in runs)],
                "l" + "r" * len(runs),
                [[part, *(_cpu_share(run, part) for run in runs)] for part in [*parts, "total"]],
            ),
        ]
    lines += ["", "Outcomes of the uploads: " + "; ".join(
        f"{run.users} users, {run.workers} w: {run.outcomes}" for run in runs)]  # fmt: skip
    failures = [f"- {run.users} users, {run.workers} w: {failure}" for run in runs for failure in run.failures]
    lines += ["", "Failures:" if failures else "No request failed.", *failures, ""]
    (out / "summary.md").write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker pool processes per pass")
    parser.add_argument("--run-time", type=int, default=60, help="seconds of load after the last sign-up")
    parser.add_argument(
        "--scale-users", type=int, nargs="+", help="user counts to repeat with the second and later worker counts"
    )
    parser.add_argument("--drain-timeout", type=float, default=240.0, help="seconds to wait for the queue to empty")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--out", type=Path, default=REPORTS, help="where the CSV, HTML and summary files go")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        sys.exit(
            "The load test runs on PostgreSQL: DATABASE_URL=postgres://user@host:5432/db make bench-load "
            "(it creates and drops a database of its own beside that one)."
        )
    # Stopped with SIGTERM, still stop the stack and drop its database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    info = machine()
    print(f"machine: {info}", flush=True)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="emomusic-load-") as tmp:
        stack = Stack(workdir=Path(tmp), database_url=database_url, port=args.port)
        try:
            stack.start()
            for workers in args.workers:
                stack.start_worker(workers)
                first = workers == args.workers[0]
                for users in args.users if first or not args.scale_users else args.scale_users:
                    run = Run(workers=workers, users=users, load_average=os.getloadavg()[0])
                    since, started = datetime.now(UTC), time.monotonic()
                    print(f"--- {workers} worker process(es), {users} users", flush=True)
                    cpu_before, locust_before = cpu_snapshot(stack), _children_seconds()
                    stats_csv, failures_csv = run_locust(
                        stack, out=args.out, users=users, workers=workers, steady_seconds=args.run_time
                    )
                    run.run_seconds = time.monotonic() - started
                    run.cpu_seconds = cpu_spent(
                        cpu_before, cpu_snapshot(stack), locust_seconds=_children_seconds() - locust_before
                    )
                    run.web_worker_rss_mb = round(web_worker_rss_mb(stack), 1)
                    read_locust(run, stats_csv, failures_csv)
                    drain(stack, run, since=since, ended=datetime.now(UTC), timeout_seconds=args.drain_timeout)
                    print(json.dumps(asdict(run), default=str), flush=True)
                    runs.append(run)
                    write_summary(runs, info, args.run_time, args.out)
        finally:
            stack.stop()
    print((args.out / "summary.md").read_text())
    sys.exit(1 if any(run.errors or run.lost for run in runs) else 0)


if __name__ == "__main__":
    main()
