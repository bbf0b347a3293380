"""Memory of the web processes under the red team's upload attack: peak and retained RSS.

Starts gunicorn as production runs it (3 processes x 4 threads, DJANGO_ENV=production,
gunicorn.conf.py) with the embedded Redis and SQLite in a temporary folder, then for
each scenario sends N concurrent uploads (one user each) and samples the summed RSS of
the gunicorn master and workers every 20 ms:

- attack: the 165 KB 6300x6300 RGBA PNG (40 MP, just under the pixel cap);
- accepted: the largest RGBA PNG a decode may open (5790x5790), which is decoded;
- grey16: a 16-bit grey 6300x6300 PNG.

Targets (issue: production hardening, round two): peak growth under 1 GB, retained
under 300 MB, for every scenario. Exit status 1 when one is missed.

    .venv/bin/python bench/upload_memory_bench.py [--uploads 8]
"""

import argparse
import io
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.common import answers, gunicorn_command, manage, production_env, spawn, stop, wait_until  # noqa: E402

PEAK_TARGET_MB = 1024
RETAINED_TARGET_MB = 300


def rgba_png(side: int) -> bytes:
    """A flat RGBA picture with a little noise in one corner: compresses to a few hundred KB."""
    image = Image.new("RGBA", (side, side), (200, 120, 40, 180))
    noise = np.random.default_rng(1).integers(0, 256, size=(64, 64, 4), dtype=np.uint8)
    image.paste(Image.fromarray(noise, "RGBA"), (0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def grey16_png(side: int) -> bytes:
    ramp = (np.arange(side, dtype=np.uint32) * 10 % 65536).astype(np.uint16)
    image = Image.fromarray(np.tile(ramp, (side, 1)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total / 1024


def web_pids(master: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{master}/task").iterdir():
        text = (task / "children").read_text().split()
        children.extend(int(pid) for pid in text)
    return [master, *children]


class Web:
    def __init__(self, workdir: Path, port: int) -> None:
        self.workdir = workdir
        self.port = port
        self.processes: list[subprocess.Popen] = []
        self.env = production_env(
            workdir,
            DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite3'}",
            REDIS_URL=f"redis+socket://{workdir / 'redis.sock'}",
            RATE_LIMITS_ENABLED="false",
        )
        self.env.pop("CACHE_URL", None)

    def start(self) -> str:
        redis = [sys.executable, "-m", "devserver.embedded_redis", "--socket", str(self.workdir / "redis.sock"),
                 "--dir", str(self.workdir)]  # fmt: skip
        self.spawn("redis", redis)
        for command in (["migrate", "--noinput"], ["createcachetable"]):
            manage(*command, env=self.env)
        self.web = self.spawn("web", gunicorn_command(self.port))
        base_url = f"http://127.0.0.1:{self.port}"
        if not wait_until(lambda: answers(f"{base_url}/healthz"), timeout_seconds=120, interval_seconds=0.3):
            raise RuntimeError(f"gunicorn did not answer; logs in {self.workdir}")
        return base_url

    def spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        process = spawn(command, env=self.env, log=self.workdir / f"{name}.log")
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in reversed(self.processes):
            stop(process)


def run_scenario(base_url: str, master: int, tokens: list[str], content: bytes) -> dict:
    statuses: list[int] = []
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb(web_pids(master)))
            time.sleep(0.02)

    def send(token: str) -> None:
        response = httpx.post(
            f"{base_url}/api/detections/",
            files={"image": ("photo.png", content, "image/png")},
            headers={"Authorization": f"Token {token}"},
            timeout=120,
        )
        statuses.append(response.status_code)

    before = rss_mb(web_pids(master))
    sampler = threading.Thread(target=sample)
    sampler.start()
    senders = [threading.Thread(target=send, args=(token,)) for token in tokens]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    time.sleep(3)  # what stays resident once the requests are over
    done.set()
    sampler.join()
    after = rss_mb(web_pids(master))
    return {"before": before, "peak": max(peak[0], after), "after": after, "statuses": sorted(statuses)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uploads", type=int, default=8, help="concurrent uploads per scenario")
    parser.add_argument("--port", type=int, default=8771)
    args = parser.parse_args()

    scenarios = {
        "attack (6300x6300 RGBA PNG)": rgba_png(6300),
        "accepted (5790x5790 RGBA PNG)": rgba_png(5790),
        "grey16 (6300x6300 16-bit grey PNG)": grey16_png(6300),
    }
    with tempfile.TemporaryDirectory(prefix="emomusic-upload-memory-") as tmp:
        web = Web(Path(tmp), args.port)
        try:
            base_url = web.start()
            tokens = []
            for number in range(args.uploads):
                response = httpx.post(
                    f"{base_url}/api/auth/signup/",
                    json={"username": f"bench{number}", "password": f"a-bench-passphrase-{number}"},
                    timeout=60,
                )
                response.raise_for_status()
                tokens.append(response.json()["token"])
            # Warm every worker thread's imports with small photos before measuring.
            small = rgba_png(300)
            for _ in range(3):
                run_scenario(base_url, web.web.pid, tokens, small)
            baseline = rss_mb(web_pids(web.web.pid))
            print(f"gunicorn: 3 processes x 4 threads; RSS of master + workers at rest: {baseline:.0f} MB")
            print(f"{args.uploads} concurrent uploads per scenario\n")
            print("| scenario | file | answers | RSS before | peak | peak growth | retained |")
            print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
            missed = False
            for name, content in scenarios.items():
                result = run_scenario(base_url, web.web.pid, tokens, content)
                growth = result["peak"] - result["before"]
                retained = result["after"] - baseline
                missed |= growth >= PEAK_TARGET_MB or retained >= RETAINED_TARGET_MB
                answers = ", ".join(
                    f"{status} x{result['statuses'].count(status)}" for status in set(result["statuses"])
                )
                print(
                    f"| {name} | {len(content) / 1024:.0f} KB | {answers} | {result['before']:.0f} MB | "
                    f"{result['peak']:.0f} MB | {growth:.0f} MB | {retained:.0f} MB |"
                )
            print(
                f"\ntargets: peak growth < {PEAK_TARGET_MB} MB, retained < {RETAINED_TARGET_MB} MB: "
                f"{'missed' if missed else 'met'}"
            )
            return 1 if missed else 0
        finally:
            web.stop()


if __name__ == "__main__":
    sys.exit(main())
