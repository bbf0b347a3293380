"""The history page and the dashboard in a real browser: charts draw, the period switch works, nothing external."""

import os
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from detection.models import Detection, DetectionStatus
from tests.factories import DetectionFactory, OutcomeFactory, RatingFactory, SongFactory, UserFactory
from tests.journeys.conftest import HAVE_CHROMIUM, browser_factory, log_in, page, playwright_instance  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not HAVE_CHROMIUM, reason="chromium not found (apt-get install chromium)"),
]
# Set to a folder to keep full-page screenshots of both pages, for a look by eye.
SHOTS = os.environ.get("INSIGHTS_SCREENSHOTS")


def history_of(user) -> None:
    now = timezone.now()
    emotions = ["happy", "sad", "neutral", "happy", "fear", "sad", "happy", "angry", "surprise", "happy"]
    for days_ago, emotion in enumerate(emotions * 2):
        detection = DetectionFactory(user=user, status=DetectionStatus.DONE, emotion=emotion, confidence=0.6)
        Detection.objects.filter(pk=detection.pk).update(created=now - timedelta(days=days_ago % 40, hours=days_ago))
    corrected = DetectionFactory(user=user, status=DetectionStatus.DONE, emotion="neutral", corrected_emotion="sad")
    OutcomeFactory(detection=corrected, strategy="uplift", mood_before=2, mood_after=4)
    RatingFactory(user=user, song=SongFactory(name="A Loved Song"), score=5)


def test_history_draws_the_timeline_and_switches_to_weeks(page, live_server):  # noqa: F811
    user = UserFactory()
    history_of(user)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    log_in(page, user)

    page.goto("/history/")
    chart = page.get_by_role("img", name="Your emotions per day, last 30 days")
    assert chart.is_visible()
    assert page.locator("svg.chart rect.bar").count() >= 10
    assert page.get_by_role("link", name="Last 30 days").get_attribute("aria-current") == "page"
    assert "A Loved Song" in page.locator("#loved-heading + *").inner_text()
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "history.png"), full_page=True)

    page.get_by_role("link", name="Last 12 weeks").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"timeline=week"))
    assert page.get_by_role("img", name="Your emotions per week, last 12 weeks").is_visible()
    assert page.get_by_role("link", name="Last 12 weeks").get_attribute("aria-current") == "page"
    assert all(url.startswith(live_server.url) for url in requests)


def test_the_dashboard_draws_its_charts(page, live_server):  # noqa: F811
    staff = UserFactory(staff=True)
    history_of(UserFactory())
    log_in(page, staff)

    page.goto("/admin/")
    page.get_by_role("link", name=re.compile("^Dashboard")).click()
    page.wait_for_url(re.compile(r"/admin/insights/$"))
    assert page.get_by_role("img", name="Detections per day").is_visible()
    assert page.get_by_role("img", name="Confidence histogram").is_visible()
    assert page.locator("svg.chart rect.bar").count() >= 10
    assert page.get_by_role("heading", name="Accuracy in the wild").is_visible()
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "dashboard.png"), full_page=True)
