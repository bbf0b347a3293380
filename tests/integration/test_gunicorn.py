"""The proxy, throttle and token fixes through gunicorn, as production runs the site (behind a TLS proxy)."""

import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration

BASE_DIR = Path(__file__).resolve().parents[2]
PASSWORD = "a-long-gunicorn-passphrase-7"
NEW_PASSWORD = "another-long-passphrase-8"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The gunicorn master's process id and log file of each site started here, by base URL.
MASTERS: dict[str, int] = {}
LOGS: dict[str, Path] = {}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """gunicorn in production mode, with 127.0.0.1 as the trusted TLS proxy, on a database of its own."""
    workdir = tmp_path_factory.mktemp("gunicorn")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "emomusic_site.settings",
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{workdir / 'site.sqlite3'}",
        "REDIS_URL": f"redis+socket://{workdir / 'no-redis.sock'}",
        "MEDIA_ROOT": str(workdir / "media"),
        "STATIC_ROOT": str(workdir / "static"),
        "TRUSTED_PROXIES": "127.0.0.1",
        "LOGIN_FREE_FAILURES": "2",
        "RATE_LIMIT_LOGIN_PER_ADDRESS": "6",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CACHE_URL", None)
    python = sys.executable
    # The API docs' and DRF's browsable pages' assets are left out: compressing them takes minutes, no test opens them.
    collectstatic = ["collectstatic", "--noinput", "-i", "drf_spectacular_sidecar", "-i", "rest_framework"]
    for command in (["migrate", "--noinput"], ["createcachetable"], collectstatic):
        subprocess.run([python, "manage.py", *command], cwd=BASE_DIR, env=env, check=True, capture_output=True)
    port = free_port()
    log = open(workdir / "gunicorn.log", "ab")  # noqa: SIM115 - closed with the process
    web = subprocess.Popen(
        [str(Path(python).parent / "gunicorn"), "emomusic_site.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "2"],
        cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base_url}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise RuntimeError((workdir / "gunicorn.log").read_text())
        MASTERS[base_url] = web.pid
        LOGS[base_url] = workdir / "gunicorn.log"
        yield base_url
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)


def via_proxy(client_address: str) -> dict[str, str]:
    """What the TLS proxy adds: the client's address and the scheme it used."""
    return {"X-Forwarded-For": client_address, "X-Forwarded-Proto": "https"}


def signup(site: str, username: str) -> str:
    response = httpx.post(
        f"{site}/api/auth/signup/",
        json={"username": username, "password": PASSWORD},
        headers=via_proxy(f"198.51.100.{secrets.randbelow(200) + 1}"),
    )
    assert response.status_code == 201, response.text
    return response.json()["token"]


def token_attempt(site: str, username: str, password: str, *, client: str) -> httpx.Response:
    return httpx.post(
        f"{site}/api/auth/token/", json={"username": username, "password": password}, headers=via_proxy(client)
    )


def test_one_clients_guessing_slows_that_client_only(site):
    signup(site, "alice")
    statuses = [token_attempt(site, "alice", "guess", client="203.0.113.66").status_code for _ in range(4)]

    assert statuses[:3] == [400, 400, 400]
    assert statuses[3] == 429
    # The owner, behind the same proxy, from their own address.
    owner = token_attempt(site, "alice", PASSWORD, client="203.0.113.7")
    assert owner.status_code == 200, owner.text


def test_the_address_limit_counts_the_client_behind_the_proxy(site):
    signup(site, "bob")
    for number in range(7):
        token_attempt(site, f"nobody{number}", "guess", client="203.0.113.99")

    assert token_attempt(site, "bob", PASSWORD, client="203.0.113.99").status_code == 429
    assert token_attempt(site, "bob", PASSWORD, client="203.0.113.100").status_code == 200


def test_the_admin_login_is_throttled(site):
    with httpx.Client(base_url=site, headers=via_proxy("203.0.113.50")) as browser:
        page = browser.get("/admin/login/")
        assert page.status_code == 200
        csrf = page.cookies["csrftoken"]
        # The cookie is Secure: the browser sends it over the proxy's HTTPS, so it is set by hand here.
        secure_origin = site.replace("http://", "https://")
        headers = {"Cookie": f"csrftoken={csrf}", "Origin": secure_origin, "Referer": f"{secure_origin}/admin/login/"}
        statuses = []
        for _ in range(5):
            response = browser.post(
                "/admin/login/",
                data={"username": "root", "password": "guess", "csrfmiddlewaretoken": csrf, "next": "/admin/"},
                headers=headers,
            )
            statuses.append(response.status_code)

    assert statuses[:3] == [200, 200, 200]
    assert statuses[-1] == 429


def test_tokens_end_on_revocation_and_on_a_password_change(site):
    token = signup(site, "carol")
    headers = {**via_proxy("203.0.113.20"), "Authorization": f"Token {token}"}
    changed = httpx.post(
        f"{site}/api/auth/password/", json={"old_password": PASSWORD, "new_password": NEW_PASSWORD}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    assert httpx.get(f"{site}/api/me/", headers=headers).status_code == 401

    fresh = {**via_proxy("203.0.113.20"), "Authorization": f"Token {changed.json()['token']}"}
    me = httpx.get(f"{site}/api/me/", headers=fresh)
    assert me.status_code == 200
    assert "no-store" in me.headers["Cache-Control"]
    assert httpx.delete(f"{site}/api/auth/token/", headers=fresh).status_code == 204
    assert httpx.get(f"{site}/api/me/", headers=fresh).status_code == 401


def test_healthz_over_plain_http_shows_the_broken_broker(site):
    started = time.monotonic()
    response = httpx.get(f"{site}/healthz")

    assert response.status_code == 503  # this site's Redis is missing on purpose; not a 301 to HTTPS
    assert response.json()["broker"].startswith("down")
    assert time.monotonic() - started < 2
    assert httpx.get(f"{site}/songs/").status_code == 301


def test_a_connection_idle_for_seconds_still_takes_the_next_request(site):
    """gunicorn closes idle keep-alive connections after 2 s by default, without looking for a request already
    sent on them: a client that sends just then gets a reset and no answer (the load test's "HTTP 0"). The
    connection must outlast such pauses; the client or its proxy closes idle connections first."""
    host, port = site.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", "/healthz")
        connection.getresponse().read()  # 503 here: this site runs without a broker
        first_socket = connection.sock
        time.sleep(3.5)  # a user reading the page between two requests
        connection.request("GET", "/healthz")  # http.client sends on the same socket; it never reconnects itself
        answer = connection.getresponse()
        answer.read()
    finally:
        connection.close()

    assert first_socket is not None
    assert answer.status == 503


def test_the_workers_are_forked_from_a_master_that_imported_the_site(site):
    """gunicorn.conf.py preloads the app: a recycled worker starts without importing Django and NumPy again."""
    httpx.get(f"{site}/healthz", timeout=5)
    # The site imports NumPy (the recommender); a master that only supervises workers never loads it.
    master_libraries = Path(f"/proc/{MASTERS[site]}/maps").read_text()
    assert "_multiarray_umath" in master_libraries


def test_each_worker_reads_the_song_catalog_before_its_first_request(site):
    """A worker's first recommendations do not wait for the catalog to be read (nor its other threads)."""
    log = LOGS[site].read_text()
    assert log.count("Booting worker") == 2
    assert log.count("Read the song catalog (0 songs) before the first request.") == 2
