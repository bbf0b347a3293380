"""Load test: simulated users sign up, upload a selfie, poll, get songs and rate.

    .venv/bin/python bench/load_test.py --users 10 50

Without --base-url it starts the stack as production runs it (gunicorn with
DJANGO_ENV=production, a Celery worker, Redis: REDIS_URL's or the embedded one)
on a throwaway database (DATABASE_URL's, else a temporary SQLite file), and
stops it afterwards. It prints, per run: throughput, p50/p95 per endpoint,
errors (must be 0) and lost detections (must be 0: every upload must reach
done, no_face or failed).
"""

import argparse
import asyncio
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BASE_DIR = Path(__file__).resolve().parent.parent
FACES = sorted((BASE_DIR / "tests" / "fixtures" / "faces").glob("*.jpg"))
TERMINAL = {"done", "no_face", "failed"}


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    detection_seconds: list[float] = field(default_factory=list)
    requests: int = 0


async def timed(results: Results, name: str, call, expected: set[int]) -> httpx.Response | None:
    start = time.perf_counter()
    try:
        response = await call
    except httpx.HTTPError as exc:
        results.errors.append(f"{name}: {exc.__class__.__name__}")
        return None
    results.latencies[name].append((time.perf_counter() - start) * 1000)
    results.requests += 1
    if response.status_code not in expected:
        results.errors.append(f"{name}: HTTP {response.status_code} {response.text[:200]}")
        return None
    return response


async def one_user(client: httpx.AsyncClient, results: Results, index: int, poll_timeout: float) -> None:
    username = f"load-{secrets.token_hex(4)}-{index}"
    password = secrets.token_urlsafe(16)
    response = await timed(
        results,
        "POST /api/auth/signup/",
        client.post("/api/auth/signup/", json={"username": username, "password": password}),
        {201},
    )
    if response is None:
        return
    headers = {"Authorization": f"Token {response.json()['token']}"}
    photo = FACES[index % len(FACES)]
    response = await timed(
        results,
        "POST /api/detections/",
        client.post(
            "/api/detections/", files={"image": (photo.name, photo.read_bytes(), "image/jpeg")}, headers=headers
        ),
        {202},
    )
    if response is None:
        return
    detection_id = response.json()["id"]
    uploaded = time.perf_counter()
    status = "queued"
    while time.perf_counter() - uploaded < poll_timeout:
        await asyncio.sleep(0.5)
        response = await timed(
            results, "GET /api/detections/{id}/", client.get(f"/api/detections/{detection_id}/", headers=headers), {200}
        )
        if response is not None:
            status = response.json()["status"]
            if status in TERMINAL:
                break
    if status not in TERMINAL:
        results.lost.append(detection_id)
        return
    results.statuses[status] += 1
    results.detection_seconds.append(time.perf_counter() - uploaded)
    query = f"detection={detection_id}" if status == "done" else "emotion=neutral"
    response = await timed(
        results,
        "GET /api/recommendations/",
        client.get(f"/api/recommendations/?{query}&limit=10", headers=headers),
        {200},
    )
    if response is None or not response.json()["results"]:
        return
    song_id = response.json()["results"][0]["song"]["id"]
    body = {"song": song_id, "score": 5}
    if status == "done":
        body["detection"] = detection_id
    await timed(results, "POST /api/ratings/", client.post("/api/ratings/", json=body, headers=headers), {201})
    await timed(
        results,
        "GET /api/recommendations/",
        client.get(f"/api/recommendations/?{query}&limit=10", headers=headers),
        {200},
    )


async def run_load(base_url: str, users: int, poll_timeout: float) -> tuple[Results, float]:
    results = Results()
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        start = time.perf_counter()
        await asyncio.gather(*(one_user(client, results, index, poll_timeout) for index in range(users)))
        elapsed = time.perf_counter() - start
    return results, elapsed


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def report(users: int, results: Results, elapsed: float) -> None:
    rate = results.requests / elapsed
    print(f"\n## {users} users — {results.requests} requests in {elapsed:.1f} s, {rate:.1f} requests/s")
    print("| endpoint | requests | p50 ms | p95 ms |")
    print("| --- | ---: | ---: | ---: |")
    for name, values in sorted(results.latencies.items()):
        print(f"| {name} | {len(values)} | {statistics.median(values):.0f} | {percentile(values, 0.95):.0f} |")
    if results.detection_seconds:
        print(
            f"upload → terminal status: p50 {statistics.median(results.detection_seconds):.1f} s, "
            f"p95 {percentile(results.detection_seconds, 0.95):.1f} s; outcomes {dict(results.statuses)}"
        )
    print(f"errors: {len(results.errors)}; lost detections: {len(results.lost)}")
    for error in results.errors[:10]:
        print(f"  {error}")


class Stack:
    """gunicorn + a Celery worker (+ the embedded Redis), as production runs them."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.workdir = workdir
        self.processes: list[subprocess.Popen] = []
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "emomusic_site.settings",
            "DJANGO_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Plain HTTP on loopback: no TLS proxy in front of this test.
            "SECURE_SSL_REDIRECT": "false",
            "MEDIA_ROOT": str(workdir / "media"),
            "STATIC_ROOT": str(workdir / "static"),
            "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{workdir / 'load.sqlite3'}"),
            # Every simulated user comes from 127.0.0.1: lift the per-address limits.
            "RATE_LIMITS_ENABLED": "false",
            "PYTHONUNBUFFERED": "1",
        }

    def start(self) -> str:
        python = sys.executable
        if not os.environ.get("REDIS_URL"):
            socket_path = self.workdir / "redis.sock"
            self.env["REDIS_URL"] = f"redis+socket://{socket_path}"
            self.spawn(
                "redis",
                [
                    python,
                    "-m",
                    "emomusic_site.embedded_redis",
                    "--socket",
                    str(socket_path),
                    "--dir",
                    str(self.workdir),
                ],
            )
        for command in (
            ["migrate", "--noinput"],
            ["createcachetable"],
            ["seed_catalog"],
            ["collectstatic", "--noinput"],
        ):
            subprocess.run([python, "manage.py", *command], cwd=BASE_DIR, env=self.env, check=True, capture_output=True)
        bin_dir = Path(python).parent
        self.spawn(
            "worker",
            [str(bin_dir / "celery"), "-A", "emomusic_site", "worker", "--loglevel", "WARNING", "--concurrency", "1"],
        )
        self.spawn(
            "web",
            [
                str(bin_dir / "gunicorn"),
                "emomusic_site.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "3",
                "--threads",
                "4",
            ],
        )
        base_url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                    return base_url
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"the stack did not become healthy; logs in {self.workdir}")

    def spawn(self, name: str, command: list[str]) -> None:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - closed when the process ends
        self.processes.append(
            subprocess.Popen(
                command, cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        )

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--base-url", help="test a running site instead of starting one")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--poll-timeout", type=float, default=300.0, help="seconds before a pending detection counts as lost"
    )
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="emomusic-load-") as tmp:
        stack = None if args.base_url else Stack(args.port, Path(tmp))
        try:
            base_url = args.base_url or stack.start()
            failed = False
            for users in args.users:
                results, elapsed = asyncio.run(run_load(base_url, users, args.poll_timeout))
                report(users, results, elapsed)
                failed = failed or bool(results.errors or results.lost)
        finally:
            if stack:
                stack.stop()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
