"""compose.yaml brought up under a real Docker engine and checked through its front door.

`make test-compose` builds the images first (from a Debian base made locally
where no registry is reachable) and runs this file alone with
EMOMUSIC_COMPOSE=1; without that variable every test here is skipped. The
stack runs as its own compose project with two workers, and every check goes
over HTTP to the web container's port published on the machine's loopback,
except where the check is about the containers themselves (their image, their
network, killing one). The tests share one stack and run in this file's order.

COMPOSE is the command (`docker compose` by default, `docker-compose` for
Debian's 1.29); EMOMUSIC_COMPOSE_PROJECT names the project and
EMOMUSIC_COMPOSE_KEEP=1 leaves it running afterwards, to look at.
"""

import json
import logging
import os
import re
import secrets
import shlex
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import FACES_DIR
from tests.deployment.hosts import answers_healthz

pytestmark = [
    pytest.mark.compose,
    pytest.mark.skipif(
        not os.environ.get("EMOMUSIC_COMPOSE"),
        reason="brings up compose.yaml under Docker: run `make test-compose` (EMOMUSIC_COMPOSE=1)",
    ),
]

# Every poll would print a line under `make test-compose` (which shows the output, for the timings).
logging.getLogger("httpx").setLevel(logging.WARNING)

REPO = Path(__file__).resolve().parents[2]
PROJECT = os.environ.get("EMOMUSIC_COMPOSE_PROJECT", "emomusic-compose-test")
WORKERS = 2
# A message a killed worker held goes back to the queue after this many seconds (production: 150).
VISIBILITY_TIMEOUT_SECONDS = 10
# The first start loads the model in every pool process of both workers, on two shared cores.
START_SECONDS = 300
PHOTO = FACES_DIR / "happy_1.jpg"
EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    """One compose project: its command line, its variables, and what the tests leave for the next ones."""

    port: int = field(default_factory=free_port)
    secrets: dict[str, str] = field(
        default_factory=lambda: {
            name: secrets.token_urlsafe(32) for name in ("SECRET_KEY", "POSTGRES_PASSWORD", "S3_SECRET_KEY")
        }
    )
    account: dict = field(default_factory=dict)
    timings: dict[str, float | list[float]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            **self.secrets,
            "WEB_PORT": str(self.port),
            "ALLOWED_HOSTS": "127.0.0.1",
            # Plain HTTP on the loopback: no TLS proxy in front.
            "SECURE_SSL_REDIRECT": "false",
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT_SECONDS),
        }

    def compose(self, *arguments: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
        command = [*shlex.split(os.environ.get("COMPOSE", "docker compose")), "-p", PROJECT]
        command += ["-f", str(REPO / "compose.yaml"), *arguments]
        result = subprocess.run(command, env=self.env(), capture_output=True, text=True, timeout=timeout, cwd=REPO)
        if check and result.returncode != 0:
            raise AssertionError(f"{shlex.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def up(self) -> None:
        started = time.monotonic()
        self.compose("up", "--detach", "--no-build", "--scale", f"worker={WORKERS}")
        self.wait_until_healthy()
        self.timings.setdefault("up", []).append(round(time.monotonic() - started, 1))

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if answers_healthz(self.base_url, timeout=5):
                return
            time.sleep(1)
        raise AssertionError(f"/healthz never answered 200:\n{self.logs()}")

    def containers(self, service: str) -> list[str]:
        return self.compose("ps", "-q", service).stdout.split()

    def exec_python(self, service: str, code: str) -> subprocess.CompletedProcess:
        return self.compose("exec", "-T", service, "python", "-c", code, check=False, timeout=120)

    def logs(self, *services: str) -> str:
        return self.compose("logs", "--no-color", "--tail", "60", *services, check=False).stdout[-12000:]


def docker(*arguments: str) -> str:
    """Its output, stdout then stderr (where `docker logs` puts a container's stderr)."""
    result = subprocess.run(["docker", *arguments], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"docker {shlex.join(arguments)}: {result.stderr}"
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    stack = Stack()
    # Volumes an earlier run left would hold its accounts and keys.
    stack.compose("down", "--volumes", "--remove-orphans", check=False)
    try:
        stack.up()
        yield stack
    finally:
        print(f"\ncompose timings (s): {json.dumps(stack.timings)}")
        if not os.environ.get("EMOMUSIC_COMPOSE_KEEP"):
            stack.compose("down", "--volumes", "--remove-orphans", check=False)


def token_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


def upload(stack: Stack, token: str) -> int:
    response = httpx.post(
        f"{stack.base_url}/api/detections/",
        files={"image": (PHOTO.name, PHOTO.read_bytes(), "image/jpeg")},
        headers=token_headers(token),
        timeout=60,
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    return response.json()["id"]


def detection(stack: Stack, token: str, detection_id: int) -> dict:
    response = httpx.get(f"{stack.base_url}/api/detections/{detection_id}/", headers=token_headers(token), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def wait_for_status(stack: Stack, token: str, detection_id: int, statuses: set[str], *, timeout_seconds: float) -> dict:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        body = detection(stack, token, detection_id)
        if body["status"] in statuses:
            return body
        time.sleep(0.5)
    raise AssertionError(f"detection {detection_id} stayed {body['status']}, not {statuses}\n{stack.logs('worker')}")


def photo_bytes(stack: Stack, username: str, password: str, detection_id: int) -> bytes:
    """The photo page, as a browser gets it: log in with the form, then GET the photo with the session.

    Production cookies are Secure, and the site sits behind no TLS proxy here: the requests say
    X-Forwarded-Proto https (as such a proxy would) and carry the cookies by hand.
    """
    origin = f"https://127.0.0.1:{stack.port}"
    proxy = {"X-Forwarded-Proto": "https"}
    form = httpx.get(f"{stack.base_url}/accounts/login/", headers=proxy, timeout=30)
    assert form.status_code == 200
    csrf = form.cookies["csrftoken"]
    login = httpx.post(
        f"{stack.base_url}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": csrf},
        headers={**proxy, "Cookie": f"csrftoken={csrf}", "Origin": origin, "Referer": f"{origin}/accounts/login/"},
        timeout=60,
    )
    assert login.status_code == 302, login.text[:2000]
    session = login.cookies["sessionid"]
    photo = httpx.get(
        f"{stack.base_url}/detections/{detection_id}/photo",
        headers={**proxy, "Cookie": f"sessionid={session}"},
        timeout=30,
    )
    assert photo.status_code == 200, photo.text[:2000]
    assert photo.headers["Content-Type"] == "image/jpeg"
    assert photo.content.startswith(b"\xff\xd8")
    return photo.content


def test_the_web_image_has_no_tensorflow(stack):
    probe = (
        "import importlib.metadata, importlib.util\n"
        "names = sorted(d.metadata['Name'].lower() for d in importlib.metadata.distributions())\n"
        "print([n for n in names if n.startswith(('tensorflow', 'keras', 'tf-'))])\n"
        "print([m for m in ('tensorflow', 'keras') if importlib.util.find_spec(m)])\n"
        "print('django' in names, 'ai-edge-litert' in names)\n"
    )
    result = stack.exec_python("web", probe)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[]", "[]", "True True"]


def test_sign_up_upload_a_photo_get_its_result_songs_and_rate_one(stack):
    username, password = f"compose-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    started = time.monotonic()
    signup = httpx.post(
        f"{stack.base_url}/api/auth/signup/", json={"username": username, "password": password}, timeout=60
    )
    assert signup.status_code == 201, signup.text
    token = signup.json()["token"]

    detection_id = upload(stack, token)
    result = wait_for_status(stack, token, detection_id, {"done", "no_face", "failed"}, timeout_seconds=START_SECONDS)

    stack.timings["first photo"] = round(time.monotonic() - started, 1)
    assert result["status"] == "done", result
    assert list(result["probabilities"]) == EMOTIONS
    assert abs(sum(result["probabilities"].values()) - 1) < 1e-3
    assert result["emotion"] in EMOTIONS and result["faces"] and result["mood"]
    songs = httpx.get(f"{stack.base_url}/api/songs/", headers=token_headers(token), timeout=30)
    assert songs.status_code == 200 and songs.json()["count"] > 0, songs.text
    recommended = httpx.get(
        f"{stack.base_url}/api/recommendations/",
        params={"detection": detection_id, "limit": 5},
        headers=token_headers(token),
        timeout=30,
    )
    assert recommended.status_code == 200, recommended.text
    assert recommended.json()["mood"] == result["mood"]
    picks = recommended.json()["results"]
    assert 0 < len(picks) <= 5
    song_id = picks[0]["song"]["id"]
    rating = httpx.post(
        f"{stack.base_url}/api/ratings/",
        json={"song": song_id, "score": 5, "detection": detection_id},
        headers=token_headers(token),
        timeout=30,
    )
    assert rating.status_code == 201, rating.text
    ratings = httpx.get(f"{stack.base_url}/api/ratings/", headers=token_headers(token), timeout=30).json()
    assert [(item["song"], item["score"]) for item in ratings["results"]] == [(song_id, 5)]
    photo = photo_bytes(stack, username, password, detection_id)

    stack.account.update(username=username, password=password, token=token, detection=result, song=song_id, photo=photo)


def test_a_worker_killed_mid_photo_loses_nothing_another_worker_finishes_it(stack):
    """acks_late: the photo a killed worker container held goes back to the queue; the other worker finishes it."""
    if not stack.account:
        pytest.skip("needs the account the sign-up test makes (run the whole file)")
    token = stack.account["token"]
    workers = stack.containers("worker")
    assert len(workers) == WORKERS
    (s3,) = stack.containers("s3")
    first, second = workers
    docker("stop", *workers)
    detection_id = upload(stack, token)
    # The first worker to start takes the photo and then waits on the photo store: it is held mid-photo.
    docker("pause", s3)
    try:
        docker("start", first)
        wait_for_status(stack, token, detection_id, {"processing"}, timeout_seconds=START_SECONDS)
        docker("kill", first)
    finally:
        docker("unpause", s3)
    assert detection(stack, token, detection_id)["status"] == "processing"

    assert docker("inspect", "--format", "{{.State.Running}}", first).strip() == "false"
    started, since = time.monotonic(), docker("info", "--format", "{{.SystemTime}}").strip()
    docker("start", second)
    result = wait_for_status(stack, token, detection_id, {"done", "no_face", "failed"}, timeout_seconds=START_SECONDS)

    stack.timings["photo after the kill"] = round(time.monotonic() - started, 1)
    assert result["status"] == "done", result
    assert list(result["probabilities"]) == EMOTIONS
    assert re.search(r"Task detection\.process\[[\w-]+\] succeeded", docker("logs", "--since", since, second))
    stack.account["second_detection"] = detection_id


def test_down_then_up_keeps_accounts_results_ratings_and_photos(stack):
    account = stack.account
    if "second_detection" not in account:
        pytest.skip("needs the photos the tests above upload (run the whole file)")
    stack.compose("down", timeout=300)
    stack.up()

    login = httpx.post(
        f"{stack.base_url}/api/auth/token/",
        json={"username": account["username"], "password": account["password"]},
        timeout=60,
    )
    assert login.status_code == 200, login.text
    headers = token_headers(account["token"])
    me = httpx.get(f"{stack.base_url}/api/me/", headers=headers, timeout=30)
    assert me.status_code == 200, me.text
    assert me.json()["detections"] == 2 and me.json()["ratings"] == 1
    before = account["detection"]
    after = detection(stack, account["token"], before["id"])
    assert (after["status"], after["probabilities"], after["faces"]) == (
        before["status"],
        before["probabilities"],
        before["faces"],
    )
    assert detection(stack, account["token"], account["second_detection"])["status"] == "done"
    ratings = httpx.get(f"{stack.base_url}/api/ratings/", headers=headers, timeout=30).json()
    assert [(item["song"], item["score"]) for item in ratings["results"]] == [(account["song"], 5)]
    assert photo_bytes(stack, account["username"], account["password"], before["id"]) == account["photo"]


def test_containers_reach_each_other_and_nothing_outside_the_machine(stack):
    probe = (
        "import socket, sys\n"
        "for address in sys.argv[1:]:\n"
        "    host, port = address.rsplit(':', 1)\n"
        "    try:\n"
        "        socket.create_connection((host, int(port)), timeout=3).close()\n"
        "        print('reached')\n"
        "    except OSError as exc:\n"
        "        print('unreachable')\n"
    )
    # Public addresses, by number: the containers' names resolve only inside the project's networks.
    outside = ["1.1.1.1:443", "8.8.8.8:53", "151.101.0.223:443"]
    inside = ["postgres:5432", "redis:6379", "s3:8333"]
    for service in ("web", "worker"):
        result = stack.compose("exec", "-T", service, "python", "-c", probe, *inside, *outside, timeout=120)
        assert result.stdout.split() == ["reached"] * len(inside) + ["unreachable"] * len(outside), service
    ports = docker("port", stack.containers("web")[0], "8000/tcp").split()
    assert ports == [f"127.0.0.1:{stack.port}"], "the web port is published on the loopback only"
