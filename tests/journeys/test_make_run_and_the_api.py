"""`make run` as a newcomer meets it, and the API's photo with a token, in a real browser at 1280 px and 390 px.

The first tests start `make run`'s own harness (`python -m devserver.run`: migrate, seed, worker, beat,
gunicorn) on a free port with a database of its own; the last ones drive the live server's API with a token,
from the browser's own request context.
"""

import contextlib
import io
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.factories import TEST_PASSWORD, DetectionFactory, UserFactory
from tests.journeys.conftest import DESKTOP, PHONE, log_in, page_width, serious_violations

pytestmark = pytest.mark.browser

BASE_DIR = Path(__file__).resolve().parents[2]
SIZES = pytest.mark.parametrize("size", [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")])
MALFORMED_EMAIL_SENTENCE = (
    "DJANGO_SUPERUSER_EMAIL='a@b.c' is not an e-mail address (name@example.com): the site starts without that admin."
)
# What Django's own debug pages say ("... because you have DEBUG = True in your Django settings file"), and the
# site's pages never do.
DEBUG_PAGE_MARK = "DEBUG = True"
START_SECONDS = 240


@dataclass
class Harness:
    url: str
    log: Path
    database: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def harness_factory() -> Iterator:
    """Start `python -m devserver.run` as `make run` does, with `extra` in its environment; all stop at the end."""
    from devserver import embedded_redis

    started: list[subprocess.Popen] = []
    # A Redis of the harness's own, so that it never shares var/run/redis.sock with a developer's `make run`
    # (the harness takes REDIS_URL as it does any Redis); a short folder, as unix socket paths are.
    folder = Path(tempfile.mkdtemp(prefix="emr-"))
    redis = embedded_redis.start(socket_path=folder / "redis.sock", data_dir=folder / "redis")

    def start(name: str, *, database_from: Harness | None = None, **extra: str) -> Harness:
        port = free_port()
        database = folder / f"{name}.sqlite3"
        if database_from is not None:  # migrated and seeded already: the harness's start-up takes half as long
            with sqlite3.connect(database_from.database) as source, sqlite3.connect(database) as copy:
                source.backup(copy)
        # A newcomer's shell: none of the test run's settings (DJANGO_ENV=test and the rest).
        inherited = ("DJANGO_ENV", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE")
        env = {key: value for key, value in os.environ.items() if key not in inherited} | {
            "PORT": str(port),
            "DATABASE_URL": f"sqlite:///{database}",
            "MEDIA_ROOT": str(folder / f"{name}-media"),
            "REDIS_URL": f"redis+socket://{folder / 'redis.sock'}",
            **extra,
        }
        log = folder / f"{name}.log"
        with open(log, "wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "devserver.run"],
                cwd=BASE_DIR,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(process)
        harness = Harness(url=f"http://127.0.0.1:{port}", log=log, database=database)
        deadline = time.monotonic() + START_SECONDS
        while not answers(f"{harness.url}/healthz"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"make run's harness did not serve {harness.url}:\n{harness.output()[-4000:]}")
            time.sleep(0.5)
        return harness

    yield start
    for process in started:
        with_group = os.getpgid(process.pid) if process.poll() is None else None
        process.send_signal(signal.SIGINT)  # Ctrl-C, as a newcomer stops it
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if with_group is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(with_group, signal.SIGKILL)  # anything of this harness that outlived Ctrl-C
    redis.terminate()
    redis.wait(timeout=10)
    shutil.rmtree(folder)


@pytest.fixture(scope="module")
def make_run(harness_factory) -> Harness:
    """`DJANGO_SUPERUSER_EMAIL=a@b.c make run`, DEBUG unset."""
    return harness_factory(
        "quiet",
        DJANGO_SUPERUSER_USERNAME="boss",
        DJANGO_SUPERUSER_PASSWORD="a long enough password 42",
        DJANGO_SUPERUSER_EMAIL="a@b.c",
    )


@pytest.fixture
def make_run_page(browser_factory, make_run) -> Iterator:
    context = browser_factory().new_context(base_url=make_run.url)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def sign_up(page, username: str) -> None:
    page.goto("/accounts/signup/")
    page.get_by_label("Username").fill(username)
    page.get_by_label(re.compile(r"^Password:?$")).fill(TEST_PASSWORD)
    page.get_by_label("Password again").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.get_by_role("heading", name="How are you feeling?").wait_for()


# --- 1. `make run` and a malformed admin email -------------------------------------------------------------


@SIZES
def test_a_malformed_admin_email_is_one_sentence_and_the_site_starts_without_that_admin(make_run, make_run_page, size):
    page = make_run_page
    lines = make_run.output().splitlines()

    assert lines.count(MALFORMED_EMAIL_SENTENCE) == 1
    assert not any("Traceback" in line for line in lines)
    with sqlite3.connect(make_run.database) as database:
        assert database.execute("SELECT count(*) FROM accounts_user WHERE username = 'boss'").fetchone() == (0,)
        assert database.execute("SELECT count(*) FROM accounts_user WHERE is_superuser").fetchone() == (0,)

    page.set_viewport_size(size)
    page.goto("/")
    page.get_by_role("heading", name="Music for how you feel right now").wait_for()
    page.get_by_role("link", name="Log in", exact=True).first.click()
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("a long enough password 42")
    page.get_by_role("button", name=re.compile("log in", re.IGNORECASE)).click()
    assert page.get_by_text(re.compile("enter a correct username and password", re.IGNORECASE)).is_visible()
    assert page_width(page) <= size["width"]


# --- 2. `make run` serves the site's own error pages; debug only when asked ---------------------------------


@SIZES
def test_make_run_answers_a_missing_result_with_the_sites_own_404_page(make_run_page, size):
    page = make_run_page
    page.set_viewport_size(size)
    sign_up(page, f"newcomer_{size['width']}")

    response = page.goto("/detections/99999/")

    assert response.status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()
    assert page.get_by_role("link", name="Back to EmoMusic").is_visible()
    assert page.locator(".site-header").is_visible()
    assert DEBUG_PAGE_MARK not in page.inner_text("body")
    assert page_width(page) <= size["width"]
    assert serious_violations(page) == []


@pytest.fixture(scope="module")
def debug_make_run(harness_factory, make_run) -> Harness:
    """`DEBUG=1 make run`, on a copy of the first one's database."""
    return harness_factory("debug", database_from=make_run, DEBUG="1")


@SIZES
def test_debug_1_make_run_shows_djangos_debug_page(browser_factory, debug_make_run, size):
    context = browser_factory().new_context(base_url=debug_make_run.url, viewport=size)
    page = context.new_page()

    response = page.goto("/no-such-page/")

    assert response.status == 404
    assert DEBUG_PAGE_MARK in page.inner_text("body")
    assert page.locator(".error-page").count() == 0
    context.close()


# --- 3. The API's photo_url works with a token ---------------------------------------------------------------


def token_for(request, username: str) -> str:
    answer = request.post("/api/auth/token/", data={"username": username, "password": TEST_PASSWORD})
    assert answer.status == 200, answer.text()
    return answer.json()["token"]


@SIZES
@pytest.mark.django_db(transaction=True)
def test_the_photo_url_serves_the_photo_to_its_owner_with_the_token(page, live_server, size):
    owner, outsider = UserFactory(), UserFactory()
    detection = DetectionFactory(user=owner, finished=True, size=(320, 240))
    page.set_viewport_size(size)
    # The page's own request context: the browser's cookies (none: nobody has logged in) and no session.
    request = page.request
    owner_token, outsider_token = token_for(request, owner.username), token_for(request, outsider.username)

    as_owner = {"Authorization": f"Token {owner_token}"}
    reading = request.get(f"/api/detections/{detection.pk}/", headers=as_owner)
    photo_url = reading.json()["photo_url"]
    photo = request.get(photo_url, headers=as_owner)

    assert reading.status == 200 and photo_url == f"/api/detections/{detection.pk}/photo/"
    assert photo.status == 200
    assert photo.headers["content-type"] == "image/jpeg"
    assert photo.headers["cache-control"] == "private, no-store"
    with detection.image.open("rb") as stored:
        assert photo.body() == stored.read()

    nobody = request.get(photo_url)
    outsider_answer = request.get(photo_url, headers={"Authorization": f"Token {outsider_token}"})
    assert nobody.status == 401 and nobody.headers["content-type"] == "application/json"
    assert outsider_answer.status == 404 and outsider_answer.json() == {"detail": "Not found."}


@SIZES
@pytest.mark.django_db(transaction=True)
def test_the_photo_url_shows_the_photo_in_the_owners_browser(page, live_server, size):
    owner = UserFactory()
    detection = DetectionFactory(user=owner, finished=True, size=(320, 240))
    page.set_viewport_size(size)

    log_in(page, owner)
    response = page.goto(f"/api/detections/{detection.pk}/photo/")

    assert response.status == 200 and response.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(response.body())).size == (320, 240)
    assert page.evaluate("[document.images[0].naturalWidth, document.images[0].naturalHeight]") == [320, 240]
