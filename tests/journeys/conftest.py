"""Browser journeys: Playwright driving Debian's chromium against a live server.

They run when /usr/bin/chromium exists (CI installs it) and are skipped, with
the reason printed in pytest's summary, when it does not.
"""

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import caches

from tests.factories import TEST_PASSWORD

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
FAKE_CAMERA_ARGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
ARTIFACTS_DIR = Path(__file__).resolve().parents[2] / "test-artifacts"
HAVE_CHROMIUM = shutil.which(CHROMIUM) is not None


def pytest_collection_modifyitems(config, items) -> None:
    here = Path(__file__).parent
    skip = pytest.mark.skip(
        reason=f"browser journeys skipped: chromium not found at {CHROMIUM} (apt-get install chromium)"
    )
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)
            if not HAVE_CHROMIUM:
                item.add_marker(skip)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def log_in(page, user) -> None:
    """Log in through the site's form as `user` (with the factories' password) and land on the upload page."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name=re.compile("log in", re.IGNORECASE)).click()
    page.wait_for_url(re.compile(r"/$"))


# Per module, not per session: while Playwright runs, its event loop counts as
# running in this thread, and Django refuses database work from the tests after
# it (SynchronousOnlyOperation in the next module's transactional tests).
@pytest.fixture(scope="module")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture
def browser_factory(playwright_instance):
    browsers = []

    def launch(*, fake_camera: bool = False):
        browser = playwright_instance.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS + (FAKE_CAMERA_ARGS if fake_camera else [])
        )
        browsers.append(browser)
        return browser

    yield launch
    for browser in browsers:
        browser.close()


@pytest.fixture
def page(request, browser_factory, live_server, monkeypatch) -> Iterator:
    """A fresh page; on failure its screenshot is saved under test-artifacts/."""
    # Playwright's sync API runs an event loop in this thread; the ORM calls the
    # test itself makes are still plain synchronous calls. Scoped to the test so
    # that it never leaks into a subprocess (check --deploy refuses it).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # A live server's database is flushed between tests, but not the cache
    # table that holds the log-in delay's failures: start every journey afresh.
    caches["ratelimit"].clear()
    fake_camera = bool(request.node.get_closest_marker("fake_camera"))
    browser = browser_factory(fake_camera=fake_camera)
    context = browser.new_context(base_url=live_server.url, permissions=["camera"] if fake_camera else [])
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS_DIR.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS_DIR / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def step_screenshots(request, page):
    """Call step("name") after each step; the shots are kept only when the test fails."""
    shots: list[tuple[str, bytes]] = []

    def step(name: str) -> None:
        shots.append((name, page.screenshot(full_page=True)))

    yield step
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        folder = ARTIFACTS_DIR / request.node.name
        folder.mkdir(parents=True, exist_ok=True)
        for index, (name, png) in enumerate(shots):
            (folder / f"{index:02d}-{name}.png").write_bytes(png)


PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def page_width(page) -> int:
    """How wide the page is laid out, in CSS pixels: more than the window means it scrolls sideways."""
    return page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it stands, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']]}"
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
