"""A large catalog import while people rate songs: the site must keep answering.

    .venv/bin/python bench/catalog_import_bench.py --rows 100000

It starts gunicorn as production runs it on a throwaway SQLite file (the
database where one writer locks out every other), seeds the catalog, then
runs `manage.py import_songs` on a generated Kaggle-style CSV of --rows new
songs while --raters clients post ratings to /api/ratings/ without pause. It
prints the import's time and summary, and the ratings posted, their latency
(p50, p95, max) and their failures, which must be 0.
"""

import argparse
import csv
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.common import answers, gunicorn_command, manage, percentile, production_env, spawn, stop, wait_until  # noqa: E402

SEED_SONGS = BASE_DIR / "catalog" / "seed" / "data_moods.csv"


def write_catalog(path: Path, rows: int) -> int:
    """The seed catalog's rows over and over, each under a new Spotify id; returns the file's size in bytes."""
    with SEED_SONGS.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or [])
        seed = list(reader)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for index in range(rows):
            writer.writerow({**seed[index % len(seed)], "id": f"bench{index:017d}"})
    return path.stat().st_size


class Web:
    """gunicorn on a throwaway SQLite database, as `Procfile` runs it."""

    def __init__(self, workdir: Path, port: int) -> None:
        self.workdir = workdir
        self.port = port
        self.process: subprocess.Popen | None = None
        self.env = production_env(
            workdir,
            DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite3'}",
            # Every rater comes from 127.0.0.1.
            RATE_LIMITS_ENABLED="false",
        )
        self.env.pop("REDIS_URL", None)

    def manage(self, *arguments: str) -> subprocess.CompletedProcess:
        return manage(*arguments, env=self.env)

    def start(self) -> str:
        for command in (("migrate", "--noinput"), ("createcachetable",), ("seed_catalog",), ("collectstatic", "-v0")):
            self.manage(*command)
        self.process = spawn(gunicorn_command(self.port), env=self.env, log=self.workdir / "web.log")
        base_url = f"http://127.0.0.1:{self.port}"
        if not wait_until(lambda: answers(f"{base_url}/accounts/login/"), timeout_seconds=120):
            raise RuntimeError(f"gunicorn did not answer; see {self.workdir / 'web.log'}")
        return base_url

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


def rate_until(base_url: str, stop: threading.Event, latencies: list[tuple[float, float]], failures: list[str]) -> None:
    """One person rating songs as fast as the site answers, until `stop` is set."""
    with httpx.Client(base_url=base_url, timeout=120) as client:
        response = client.post(
            "/api/auth/signup/", json={"username": f"rater-{secrets.token_hex(4)}", "password": secrets.token_urlsafe()}
        )
        response.raise_for_status()
        client.headers["Authorization"] = f"Token {response.json()['token']}"
        songs = [song["id"] for song in client.get("/api/songs/").json()["results"]]
        number = 0
        while not stop.is_set():
            body = {"song": songs[number % len(songs)], "score": 1 + number % 5}
            started = time.perf_counter()
            try:
                response = client.post("/api/ratings/", json=body)
            except httpx.HTTPError as error:
                failures.append(f"{type(error).__name__}: {error}")
            else:
                latencies.append((started, time.perf_counter() - started))
                if response.status_code not in (200, 201):
                    failures.append(f"HTTP {response.status_code}: {response.text[:200]}")
            number += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="songs in the imported file")
    parser.add_argument("--raters", type=int, default=4, help="clients posting ratings during the import")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; SQLite")
    with tempfile.TemporaryDirectory(prefix="emomusic-import-") as tmp:
        workdir = Path(tmp)
        csv_path = workdir / "catalog.csv"
        size = write_catalog(csv_path, args.rows)
        web = Web(workdir, args.port)
        try:
            base_url = web.start()
            stop = threading.Event()
            latencies: list[tuple[float, float]] = []
            failures: list[str] = []
            raters = [
                threading.Thread(target=rate_until, args=(base_url, stop, latencies, failures))
                for _ in range(args.raters)
            ]
            for rater in raters:
                rater.start()
            time.sleep(1.0)  # the raters are signed up and rating before the import starts
            started = time.perf_counter()
            result = web.manage("import_songs", str(csv_path))
            import_seconds = time.perf_counter() - started
            stop.set()
            for rater in raters:
                rater.join()
        finally:
            web.stop()

    during = [latency for started_at, latency in latencies if started_at >= started]
    print(f"import of {args.rows:,} rows ({size / 1e6:.1f} MB): {import_seconds:.1f} s")
    print(f"  {result.stdout.strip().splitlines()[-1]}")
    if during:
        print(
            f"ratings posted during it: {len(during)} by {args.raters} clients; latency p50 "
            f"{statistics.median(during) * 1000:.0f} ms, p95 {percentile(during, 0.95) * 1000:.0f} ms, "
            f"max {max(during) * 1000:.0f} ms"
        )
    print(f"failed ratings: {len(failures)}")
    for failure in failures[:10]:
        print(f"  {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
