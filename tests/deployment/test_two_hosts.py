"""Web and workers on separate hosts, sharing only PostgreSQL, Redis and the S3 server.

Each host is a network namespace joined to the machine by a veth pair
(tests/deployment/hosts.py): gunicorn runs in one, a Celery worker in
another, both started as production runs them (DJANGO_ENV=production). They
share no loopback and no photo directory; they reach the machine's
PostgreSQL, Redis and S3 server over their veth pair only. The broker is
Redis, as in every deployment docs/operations.md describes (see its
"Running in production" for why not RabbitMQ).
"""

import os
import secrets
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection

from detection.models import Detection, DetectionStatus
from tests.conftest import FACES_DIR, _database_url_for_other_processes
from tests.deployment.conftest import object_exists
from tests.deployment.hosts import Host, HostsUnavailable, Relay, Relays, answers_healthz, python_command, wait_for_log

pytestmark = [pytest.mark.two_hosts, pytest.mark.s3, pytest.mark.integration]

WEB_PORT = 8000
# A message a vanished worker held goes back to the queue after this many seconds (production: 150).
VISIBILITY_TIMEOUT_SECONDS = 10
WORKER_READY_SECONDS = 240


@dataclass
class Deployment:
    relays: Relays
    tmp: Path
    s3_server: object
    database_url: str
    redis_url: str
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(50))
    hosts: list[Host] = field(default_factory=list)
    s3_relays: dict[str, Relay] = field(default_factory=dict)
    web: Host | None = None

    def add_host(self, label: str) -> tuple[Host, dict[str, str]]:
        """A new host, and the environment that points its processes at the shared services through its veth."""
        host = Host.create(label)
        self.hosts.append(host)
        self.s3_relays[label] = self.relays.add(listen_host=host.gateway, target=("127.0.0.1", self.s3_server.port))
        database = urllib.parse.urlsplit(self.database_url)
        database_relay = self.relays.add(listen_host=host.gateway, target=(database.hostname, database.port or 5432))
        redis = urllib.parse.urlsplit(self.redis_url)
        if redis.scheme == "redis+socket":
            redis_relay, redis_db = self.relays.add(listen_host=host.gateway, target=redis.path), "0"
        else:
            redis_relay = self.relays.add(listen_host=host.gateway, target=(redis.hostname, redis.port or 6379))
            redis_db = redis.path.lstrip("/") or "0"
        auth = f"{database.username}@" if database.username else ""
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "emomusic_site.settings",
            "DJANGO_ENV": "production",
            "SECRET_KEY": self.secret_key,
            "ALLOWED_HOSTS": self.web.address if self.web else host.address,
            # Plain HTTP inside the test: no TLS proxy in front.
            "SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": f"postgres://{auth}{host.gateway}:{database_relay.port}{database.path}",
            "REDIS_URL": f"redis://{host.gateway}:{redis_relay.port}/{redis_db}",
            **self.s3_server.env(endpoint_url=f"http://{host.gateway}:{self.s3_relays[label].port}"),
            # A directory of this host's own: it must stay empty, photos go to S3.
            "MEDIA_ROOT": str(self.tmp / label / "media"),
            "STATIC_ROOT": str(self.tmp / label / "static"),
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT_SECONDS),
            "PYTHONUNBUFFERED": "1",
        }
        return host, env

    def start_worker(self, label: str):
        host, env = self.add_host(label)
        log_path = self.tmp / f"{label}.log"
        process = host.spawn(
            python_command(
                "-m", "celery", "-A", "emomusic_site", "worker", "--loglevel", "INFO", "--concurrency", "1",
                "--without-gossip", "--without-mingle", "--hostname", f"{label}@%h",
            ),
            env=env,
            log_path=log_path,
        )  # fmt: skip
        wait_for_log(process, log_path, " ready.", timeout_seconds=WORKER_READY_SECONDS)
        return host, process, log_path

    @property
    def base_url(self) -> str:
        return f"http://{self.web.address}:{WEB_PORT}"

    def media_files(self) -> list[Path]:
        return [path for path in self.tmp.glob("*/media/**/*") if path.is_file()]

    def close(self) -> None:
        for host in self.hosts:
            host.destroy()
        self.relays.close()


@pytest.fixture(scope="module")
def deployment(request, django_db_setup, django_db_blocker, tmp_path_factory):
    """A web host running gunicorn and a worker host running `celery worker`, both production-configured."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "the hosts share the machine's PostgreSQL: run with DATABASE_URL=postgres://... (CI's second pass does)"
        )
    from emomusic_site.health import redis_client

    # Started only now, so that a skip above costs nothing.
    request.getfixturevalue("redis_server")
    s3_server = request.getfixturevalue("s3_server")

    with django_db_blocker.unblock():
        database_url = _database_url_for_other_processes()
    # Messages left by an earlier run would reach these workers.
    redis_client(timeout_seconds=2).flushdb()
    deployment = Deployment(
        relays=Relays(),
        tmp=tmp_path_factory.mktemp("hosts"),
        s3_server=s3_server,
        database_url=database_url,
        redis_url=settings.REDIS_URL,
    )
    try:
        try:
            web, env = deployment.add_host("web")
        except HostsUnavailable as exc:
            pytest.skip(f"separate hosts need network namespaces: {exc}")
        deployment.web = web
        env["ALLOWED_HOSTS"] = web.address
        web_log = deployment.tmp / "web.log"
        gunicorn = web.spawn(
            python_command(
                "-m", "gunicorn", "emomusic_site.wsgi", "--bind", f"{web.address}:{WEB_PORT}",
                "--workers", "2", "--threads", "2", "--access-logfile", "-",
            ),
            env=env,
            log_path=web_log,
        )  # fmt: skip
        deployment.start_worker("worker-a")
        wait_until_healthy(deployment.base_url, gunicorn, web_log)
        yield deployment
    finally:
        deployment.close()


def wait_until_healthy(base_url: str, process, log_path: Path, timeout_seconds: float = 60) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log_path.read_text()[-4000:]}")
        if answers_healthz(base_url, timeout=2):
            return
        time.sleep(0.3)
    raise RuntimeError(f"the web host never answered /healthz with 200:\n{log_path.read_text()[-4000:]}")


def sign_up(base_url: str) -> dict[str, str]:
    response = httpx.post(
        f"{base_url}/api/auth/signup/",
        json={"username": f"host-{secrets.token_hex(4)}", "password": secrets.token_urlsafe(16)},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Token {response.json()['token']}"}


def upload_face_over_http(base_url: str, headers: dict[str, str], name: str = "happy_1.jpg") -> int:
    photo = FACES_DIR / name
    response = httpx.post(
        f"{base_url}/api/detections/",
        files={"image": (photo.name, photo.read_bytes(), "image/jpeg")},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    return response.json()["id"]


def wait_for_status(detection_id: int, statuses: set[str], *, timeout_seconds: float, logs: list[Path]) -> Detection:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        detection = Detection.objects.get(pk=detection_id)
        if detection.status in statuses:
            return detection
        time.sleep(0.2)
    tails = "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}" for path in logs if path.exists())
    raise AssertionError(f"detection {detection_id} stayed {detection.status}, not {statuses}\n{tails}")


def test_a_photo_uploaded_to_the_web_host_is_analysed_on_the_worker_host(deployment, transactional_db):
    headers = sign_up(deployment.base_url)

    detection_id = upload_face_over_http(deployment.base_url, headers)

    wait_for_status(
        detection_id, {"done", "no_face", "failed"}, timeout_seconds=120, logs=[deployment.tmp / "worker-a.log"]
    )
    response = httpx.get(f"{deployment.base_url}/api/detections/{detection_id}/", headers=headers, timeout=30)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "done", body
    assert len(body["probabilities"]) == 7 and body["faces"]
    detection = Detection.objects.get(pk=detection_id)
    assert detection.attempts == 1
    assert object_exists(deployment.s3_server, detection.image.name)
    assert deployment.media_files() == [], "no host may keep a photo on its own disk"
    assert "detection.process" in (deployment.tmp / "worker-a.log").read_text()


def test_the_hosts_reach_the_services_only_over_their_veth(deployment):
    worker = next(host for host in deployment.hosts if host.namespace.startswith("emomusic-worker-a"))
    probe = (
        "import socket, sys\n"
        "for address in sys.argv[1:]:\n"
        "    host, port = address.rsplit(':', 1)\n"
        "    try:\n"
        "        socket.create_connection((host, int(port)), timeout=2).close()\n"
        "        print(address, 'reached')\n"
        "    except OSError as exc:\n"
        "        print(address, 'unreachable', type(exc).__name__)\n"
    )
    targets = [
        "127.0.0.1:5432",  # the machine's PostgreSQL, on the machine's loopback
        f"127.0.0.1:{deployment.s3_server.port}",  # the S3 server, likewise
        f"{deployment.web.address}:{WEB_PORT}",  # the web host
        f"{worker.gateway}:{deployment.s3_relays['worker-a'].port}",  # the S3 server, over the veth pair
    ]
    result = worker.run(*python_command("-c", probe, *targets))

    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stderr
    assert [line.split()[1] for line in lines] == ["unreachable", "unreachable", "unreachable", "reached"], lines


def test_killing_the_worker_host_mid_task_loses_nothing(deployment, transactional_db):
    """acks_late: the photo the killed worker held goes back to the queue and another host's worker finishes it."""
    worker_a = next(host for host in deployment.hosts if host.namespace.startswith("emomusic-worker-a"))
    headers = sign_up(deployment.base_url)
    # Hold worker A inside the task: its reads from S3 stop getting answers.
    deployment.s3_relays["worker-a"].pause()

    detection_id = upload_face_over_http(deployment.base_url, headers, "sad_1.jpg")
    logs = [deployment.tmp / "worker-a.log"]
    wait_for_status(detection_id, {"processing"}, timeout_seconds=60, logs=logs)
    for process in worker_a.processes:
        os.killpg(process.pid, 9)
        process.wait(timeout=30)
    deployment.s3_relays["worker-a"].resume()
    detection = Detection.objects.get(pk=detection_id)
    assert detection.status == DetectionStatus.PROCESSING and detection.attempts == 1

    _, _, worker_b_log = deployment.start_worker("worker-b")
    detection = wait_for_status(
        detection_id,
        {"done", "no_face", "failed"},
        timeout_seconds=VISIBILITY_TIMEOUT_SECONDS + 60,
        logs=[*logs, worker_b_log],
    )

    assert detection.status == DetectionStatus.DONE, detection.error
    assert detection.attempts == 2
    assert len(detection.probabilities) == 7
    assert "succeeded" in worker_b_log.read_text()
    assert object_exists(deployment.s3_server, detection.image.name)
