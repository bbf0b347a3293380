"""The main pages work under the Content-Security-Policy and Permissions-Policy, and break neither.

Every page is loaded in chromium with a listener for `securitypolicyviolation` events (in every frame)
and for the console lines chromium writes about either policy; a page that needed an inline script or
style, a data: image or a frame from elsewhere would be reported there. Spotify's embed is answered by a
stand-in (no network here), which is enough: the frame-src check happens before any request.
"""

import re

import pytest

from catalog.models import Song
from detection.models import Detection
from tests.conftest import FACES_DIR
from tests.factories import DetectionFactory, RatingFactory, probabilities
from tests.journeys.conftest import log_in
from tests.recommendations.conftest import load_seed_songs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__reportPolicyViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} on ${location.pathname}` +
    ` (${event.sourceFile}:${event.lineNumber})`
  );
});
"""
POLICY_CONSOLE_LINE = re.compile(r"Content Security Policy|Content-Security-Policy|[Pp]ermissions[- ][Pp]olicy")


def sad_detection(user) -> Detection:
    photo = (FACES_DIR / "sad_1.jpg").read_bytes()
    return DetectionFactory(
        finished=True,
        user=user,
        shares=probabilities(sad=0.8, fear=0.2),
        photo=photo,
        box=[10, 10, 30, 30],
        size=(48, 48),
    )


@pytest.fixture
def watched_page(page):
    """The journeys' page, reporting every policy violation and policy console line into page.violations."""
    violations: list[str] = []
    page.context.expose_binding("__reportPolicyViolation", lambda source, text: violations.append(text))
    page.context.add_init_script(REPORT_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            violations.append(f"console {message.type}: {message.text}")
            if POLICY_CONSOLE_LINE.search(message.text)
            else None
        ),
    )
    page.context.route(
        "https://open.spotify.com/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body="<p>Spotify player</p>"),
    )
    page.violations = violations
    return page


def test_the_listener_sees_what_the_policy_blocks(watched_page, live_server):
    """The check below would be blind without this: an inline style and a foreign frame are reported."""
    page = watched_page
    page.goto("/accounts/login/")
    page.evaluate(
        """() => {
        const styled = document.createElement("p");
        styled.setAttribute("style", "color: red");
        document.body.appendChild(styled);
        const frame = document.createElement("iframe");
        frame.src = "https://example.com/";
        document.body.appendChild(frame);
    }"""
    )
    page.wait_for_function("() => document.querySelector('p[style]') !== null")
    page.wait_for_timeout(300)
    reported = " ".join(page.violations)
    assert "style-src-attr" in reported
    assert "frame-src blocked https://example.com" in reported


@pytest.mark.fake_camera
def test_the_main_pages_raise_no_policy_violation(watched_page, live_server, staff_user):
    page = watched_page
    load_seed_songs()
    detection = sad_detection(staff_user)
    song = Song.objects.order_by("pk").first()
    RatingFactory(user=staff_user, song=song, score=5, detection=detection, emotion="sad")

    page.goto("/accounts/signup/")
    page.locator("main h1").wait_for()
    log_in(page, staff_user)

    # The upload page: the camera (Permissions-Policy camera=(self)) and the photo's preview (a blob: image).
    policy = page.evaluate(
        "['camera', 'microphone', 'geolocation'].map((name) => document.featurePolicy.allowsFeature(name))"
    )
    assert policy == [True, False, False]
    page.get_by_role("button", name="Use my camera").click()
    page.wait_for_function("() => document.getElementById('camera-video').videoWidth > 0")
    page.get_by_role("button", name="Stop the camera").click()
    page.locator("input[type=file]").set_input_files(str(FACES_DIR / "happy_1.jpg"))
    page.wait_for_function("() => document.getElementById('preview-image').naturalWidth > 0")

    # The result page: its photo, the songs, and the mini-player's Spotify frame.
    page.goto(f"/detections/{detection.pk}/")
    page.locator(".rec-item").first.wait_for()
    page.locator(".rec-item").first.get_by_role("button", name=re.compile("^Play")).click()
    frame = page.frame_locator("[data-mini-player] iframe")
    frame.locator("text=Spotify player").wait_for()
    assert page.locator("[data-mini-player] iframe").get_attribute("src").startswith("https://open.spotify.com/embed/")

    for path, ready in (
        ("/history/", "table.distribution"),
        ("/mood/?emotion=happy", ".rec-item"),
        ("/songs/", "main h1"),
        ("/accounts/profile/", "main h1"),
        ("/admin/", "#content"),
        ("/admin/catalog/song/", "#result_list"),
        (f"/admin/catalog/song/{song.pk}/change/", "form"),
        ("/admin/catalog/song/import/", "form"),
        (f"/admin/accounts/user/{staff_user.pk}/change/", "form"),
        (f"/admin/detection/detection/{detection.pk}/change/", "form"),
        ("/admin/insights/", "main, #content"),
        ("/api/docs/", ".swagger-ui .opblock"),
    ):
        page.goto(path)
        page.locator(ready).first.wait_for()
        page.wait_for_load_state("networkidle")

    assert page.violations == [], "\n".join(page.violations)
