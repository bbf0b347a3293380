"""The phone, History, the staff dashboard and the small pages, in a real browser at 1280 px and at 390 px.

Each page is also checked with axe-core (no serious or critical violation) and, on the phone, for sideways
scrolling. With SCREENS_DIR set, `test_screens` writes the screens of docs/screens there (`make screens`).
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from PIL import Image

from detection.models import Detection
from recommendations.models import Rating
from tests.conftest import FACES_DIR
from tests.factories import DetectionFactory, RatingFactory, SongFactory, UserFactory
from tests.journeys.conftest import DESKTOP, PHONE, log_in, page_width, serious_violations
from tests.journeys.test_result_page import group_detection
from tests.recommendations.conftest import load_seed_songs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]


def check_page(page, size: dict) -> None:
    """No serious accessibility violation, and nothing wider than the window."""
    assert serious_violations(page) == []
    assert page_width(page) <= size["width"]


def in_view(page, locator) -> bool:
    box = locator.bounding_box()
    viewport = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]


def wait_for_the_camera(page) -> None:
    """Until the live picture plays (polled: the site's CSP forbids wait_for_function's eval)."""
    for _ in range(100):
        if page.evaluate("document.getElementById('camera-video').videoWidth") > 0:
            return
        page.wait_for_timeout(100)
    raise AssertionError("the camera's picture never arrived")


def history_of(user, *, selfies: int = 20) -> None:
    now = timezone.now()
    emotions = ["happy", "sad", "neutral", "angry", "surprise"]
    for days_ago in range(selfies):
        detection = DetectionFactory(finished=True, user=user, shares={emotions[days_ago % 5]: 0.9, "fear": 0.1})
        Detection.objects.filter(pk=detection.pk).update(created=now - timedelta(days=days_ago))


def big_photo(tmp_path: Path) -> Path:
    """A tall phone photo (1200 x 1600) of a face."""
    face = Image.open(FACES_DIR / "happy_1.jpg").convert("RGB").resize((1200, 1600))
    path = tmp_path / "tall.jpg"
    face.save(path, "JPEG", quality=80)
    return path


# --- 7. The phone -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_the_header_is_one_line_with_a_menu_on_a_phone(page, live_server, user, size):
    page.set_viewport_size(size)
    log_in(page, user)
    header = page.locator(".site-header")
    toggle = page.get_by_role("button", name="Menu")
    history_link = page.locator(".nav-links").get_by_role("link", name="History")

    assert header.bounding_box()["height"] <= 72
    if size is PHONE:
        assert toggle.get_attribute("aria-expanded") == "false"
        assert not history_link.is_visible()
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true"
        history_link.click()
        page.wait_for_url(re.compile(r"/history/$"))
        assert page.get_by_role("button", name="Menu").get_attribute("aria-expanded") == "false"
    else:
        assert not toggle.is_visible()
        assert history_link.is_visible()
    check_page(page, size)


def test_without_javascript_the_menu_is_a_plain_list(browser_factory, live_server):
    context = browser_factory().new_context(base_url=live_server.url, java_script_enabled=False, viewport=PHONE)
    page = context.new_page()
    page.goto("/accounts/login/")
    assert page.locator(".nav-links").get_by_role("link", name="Log in").is_visible()
    assert not page.locator(".nav-toggle").is_visible()
    assert page_width(page) <= PHONE["width"]
    context.close()


@pytest.mark.fake_camera
@pytest.mark.parametrize("size", SIZES)
def test_the_shutter_stays_in_view_with_the_camera_on(page, live_server, user, size):
    page.set_viewport_size(size)
    log_in(page, user)
    page.get_by_role("button", name="Use my camera").click()
    shutter = page.get_by_role("button", name="Take the photo")
    shutter.wait_for()
    wait_for_the_camera(page)

    stop = page.get_by_role("button", name="Stop the camera")
    assert in_view(page, shutter) and in_view(page, stop)
    assert page.locator(".camera-controls").bounding_box()["height"] < 80  # one line of buttons
    page.mouse.wheel(0, -2000)  # back to the top of the page: the bar stays at the window's bottom
    assert in_view(page, shutter)
    # Nothing covers the shutter: the topmost element at its centre is the button itself.
    box = shutter.bounding_box()
    centre = page.evaluate(
        f"document.elementFromPoint({box['x'] + box['width'] / 2}, {box['y'] + box['height'] / 2}).id"
    )
    assert centre == "camera-capture"
    check_page(page, size)
    stop.click()


@pytest.mark.parametrize("size", SIZES)
def test_analyse_stays_in_view_after_a_tall_photo_is_chosen(page, live_server, user, tmp_path, size):
    page.set_viewport_size(size)
    log_in(page, user)
    page.set_input_files("input[type=file]", str(big_photo(tmp_path)))
    page.locator("#upload-status").filter(has_text="Ready.").wait_for()
    page.locator("#preview-image").scroll_into_view_if_needed()

    assert page.locator("#preview-image").is_visible()
    assert in_view(page, page.get_by_role("button", name="Analyse"))
    check_page(page, size)


@pytest.mark.parametrize("size", SIZES)
def test_group_faces_are_large_numbered_crops_and_the_boxes_fit_the_photo(page, live_server, user, size):
    load_seed_songs()
    page.set_viewport_size(size)
    detection = group_detection(user)
    tiny = DetectionFactory(finished=True, user=user, size=(40, 40), box=(4, 4, 32, 32))
    log_in(page, user)

    page.goto(f"/detections/{detection.pk}/")
    choices = page.get_by_role("group", name="Which one is you?").locator(".face-choice")
    assert choices.count() == 2
    for number, choice in enumerate(choices.all(), start=1):
        box = choice.bounding_box()
        assert box["width"] >= 96 and box["height"] >= 96
        assert choice.locator(".face-choice-number").inner_text() == str(number)
        assert choice.locator("svg.face-crop image").count() == 1
    photo, overlay = page.locator(".photo-frame img"), page.locator(".photo-frame .face-boxes")
    assert photo.bounding_box() == overlay.bounding_box()
    check_page(page, size)

    page.goto(f"/detections/{tiny.pk}/")
    tiny_photo = page.locator(".photo-frame img")
    tiny_photo.wait_for()
    assert tiny_photo.bounding_box()["width"] >= 80  # the 40 px photo is scaled up, not a speck
    assert tiny_photo.bounding_box() == page.locator(".photo-frame .face-boxes").bounding_box()


# --- 8. History ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_history_is_cards_in_pages_of_ten_with_a_filter(page, live_server, user, size):
    page.set_viewport_size(size)
    history_of(user)
    song = SongFactory(name="A Rated Song")
    RatingFactory(user=user, song=song, score=2)
    log_in(page, user)

    page.goto("/history/")
    cards = page.locator(".selfie-card")
    assert cards.count() == 10
    assert cards.first.locator("img.selfie-thumb").is_visible()
    assert "Emotion" in cards.first.inner_text() and "Mood" in cards.first.inner_text()
    assert page.get_by_role("navigation", name="Selfies pages").get_by_text("Page 1 of 2").is_visible()
    check_page(page, size)

    page.get_by_label("Emotion", exact=True).select_option("sad")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"emotion=sad"))
    assert cards.count() == 4
    assert all("Sad" in text for text in cards.all_inner_texts())

    # The deletes and the undo still work.
    page.get_by_role("button", name="Delete your rating of A Rated Song").click()
    page.get_by_role("button", name="Undo").click()
    page.get_by_text("Your rating of “A Rated Song” is back.").wait_for()
    assert Rating.objects.filter(user=user, song=song, score=2).exists()


def test_a_bad_filter_value_is_left_out_with_a_message(page, live_server, user):
    page.set_viewport_size(PHONE)
    history_of(user, selfies=3)
    log_in(page, user)

    page.goto("/history/?emotion=joyful&since=yesterday")
    assert page.get_by_text("That emotion is not one we read").is_visible()
    assert page.get_by_text("“From” needs a date").is_visible()
    assert page.locator(".selfie-card").count() == 3


# --- 9. The staff dashboard ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_the_dashboard_fits_the_window(page, live_server, staff_user, size):
    history_of(UserFactory())
    page.set_viewport_size(size)
    log_in(page, staff_user)

    page.goto("/admin/insights/")
    page.get_by_role("img", name="Detections per day").wait_for()
    assert page_width(page) <= size["width"]
    check_page(page, size)


# --- 11. Small things ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_the_profile_is_laid_out_and_a_photo_deleting_choice_asks_first(page, live_server, user, size):
    user.photo_retention = "keep"
    user.save()
    for _ in range(2):
        DetectionFactory(finished=True, user=user)
    page.set_viewport_size(size)
    log_in(page, user)

    page.goto("/accounts/profile/")
    facts = page.locator(".profile-facts")
    assert facts.evaluate("element => getComputedStyle(element).display") in ("grid", "flex")
    email = facts.locator("dd").first
    line_height = email.evaluate("element => parseFloat(getComputedStyle(element).lineHeight)")
    assert email.inner_text() == user.email
    assert email.bounding_box()["height"] < 1.5 * line_height  # one line: a usual address is not broken
    check_page(page, size)

    page.get_by_label("Delete the photo as soon as it is analysed").check()
    page.get_by_role("button", name="Save preferences").click()
    page.get_by_role("heading", name="Delete your kept photos?").wait_for()
    assert page.get_by_text("2 photos", exact=True).is_visible()
    check_page(page, size)
    page.get_by_role("link", name="Keep my photos").click()
    user.refresh_from_db()
    assert user.photo_retention == "keep"

    page.get_by_label("Delete the photo as soon as it is analysed").check()
    page.get_by_role("button", name="Save preferences").click()
    page.get_by_role("button", name="Delete 2 photos and save").click()
    page.get_by_text("Your preferences are saved.").wait_for()
    user.refresh_from_db()
    assert user.photo_retention == "delete"


@pytest.mark.parametrize("size", SIZES)
def test_sign_up_states_each_password_rule_once(page, live_server, size):
    page.set_viewport_size(size)
    page.goto("/accounts/signup/")
    rules = page.locator("#id_password1_helptext li").all_inner_texts()
    assert len(rules) >= 3
    assert len([rule for rule in rules if "8 characters" in rule]) == 1
    check_page(page, size)


@pytest.mark.parametrize("size", SIZES)
def test_the_admin_song_form_and_list(page, live_server, staff_user, size):
    song = SongFactory(name="A Song With A Rather Long Name For The List")
    page.set_viewport_size(size)
    log_in(page, staff_user)

    page.goto("/admin/catalog/song/")
    headers = page.locator("#result_list thead th").all_inner_texts()
    assert len(headers) <= 9
    if size is DESKTOP:
        name_cell = page.locator("#result_list tbody th, #result_list tbody td.field-name").first
        assert name_cell.bounding_box()["height"] < 60  # one or two lines, not five

    page.goto(f"/admin/catalog/song/{song.pk}/change/")
    assert page.get_by_role("heading", name=re.compile("How it feels")).is_visible()
    assert page.get_by_text("0 to 1: how positive it sounds").is_visible()
    assert page.get_by_label(re.compile("^Valence")).get_attribute("max") == "1"


# --- The screens of docs/screens ----------------------------------------------------------------------------


@pytest.mark.fake_camera
@pytest.mark.skipif(not os.environ.get("SCREENS_DIR"), reason="set SCREENS_DIR to write the screens (make screens)")
def test_screens(page, live_server, staff_user):
    """Landing, upload with the camera on, result, history, profile and the dashboard, desktop and phone."""
    load_seed_songs()
    folder = Path(os.environ["SCREENS_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    suffix = os.environ.get("SCREENS_SUFFIX", "after")
    detection = group_detection(staff_user)
    history_of(staff_user)

    def shoot(name: str, *, full_page: bool = True) -> None:
        for device, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            page.reload()
            page.wait_for_load_state("networkidle")
            if name == "upload-camera":
                page.get_by_role("button", name="Use my camera").click()
                wait_for_the_camera(page)
            if full_page:  # lazy images load once scrolled to
                page.mouse.wheel(0, 20_000)
                page.wait_for_load_state("networkidle")
                page.mouse.wheel(0, -20_000)
            page.screenshot(path=str(folder / f"{name}-{device}-{suffix}.png"), full_page=full_page)

    page.goto("/")
    shoot("landing")
    log_in(page, staff_user)
    shoot("upload-camera", full_page=False)
    page.goto(f"/detections/{detection.pk}/")
    shoot("result")
    for name, path in (("history", "/history/"), ("profile", "/accounts/profile/"), ("dashboard", "/admin/insights/")):
        page.goto(path)
        shoot(name)
