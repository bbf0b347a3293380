"""The result page and its neighbours in a real browser, on desktop and at a 390 px phone width.

Each bug of the result-page review has a test here: the camera's tracks end,
the mood sentence agrees with the songs, no page scrolls sideways on a phone,
emotions read as words, `GET /detections/new` lands on the upload page; plus
the music-app parts (mini-player, undo, export) and an axe-core check of the
main pages. With SCREENS_DIR set, the result page's screenshots are written
there (docs/screens holds them).
"""

import csv
import io
import os
import re
from pathlib import Path

import pytest
from PIL import Image

from detection.models import Detection, DetectionStatus
from recommendations.models import Rating
from tests.conftest import FACES_DIR
from tests.factories import TEST_PASSWORD, DetectionFactory, UserFactory, probabilities
from tests.journeys.conftest import DESKTOP, PHONE, log_in, page_width
from tests.recommendations.conftest import load_seed_songs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def group_photo() -> tuple[bytes, tuple[int, int]]:
    """Two faces side by side, the larger on the left."""
    left = Image.open(FACES_DIR / "fear_1.jpg").convert("RGB").resize((350, 450))
    right = Image.open(FACES_DIR / "happy_2.jpg").convert("RGB").resize((300, 300))
    photo = Image.new("RGB", (700, 480), (235, 235, 240))
    photo.paste(left, (10, 15))
    photo.paste(right, (380, 90))
    stored = io.BytesIO()
    photo.save(stored, "JPEG", quality=85)
    return stored.getvalue(), photo.size


def group_detection(user, *, shares: dict | None = None) -> Detection:
    """A finished group photo: the main face (the larger, left) reads scared 41 %, surprised 40 %."""
    main = shares or probabilities(fear=0.41, surprise=0.40, sad=0.12, angry=0.07)
    jpeg, size = group_photo()
    return DetectionFactory(
        finished=True,
        user=user,
        shares=main,
        photo=jpeg,
        box=[60, 80, 250, 250],
        size=size,
        others=[([430, 140, 200, 200], probabilities(happy=0.9, neutral=0.1))],
    )


def open_result(page, user, *, shares: dict | None = None) -> Detection:
    """Log `user` in and open the result of their finished group photo (see group_detection)."""
    detection = group_detection(user, shares=shares)
    log_in(page, user)
    page.goto(f"/detections/{detection.pk}/")
    return detection


# --- Bugs ------------------------------------------------------------------------------------------------

# Records every stream the page opens, so that the test can see whether each track ended.
RECORD_STREAMS = """
window.__streams = [];
const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = (constraints) =>
  original(constraints).then((stream) => { window.__streams.push(stream); return stream; });
"""
TRACK_STATES = "window.__streams.flatMap((stream) => stream.getTracks().map((track) => track.readyState))"


@pytest.mark.fake_camera
def test_the_camera_stops_every_stream(page, live_server):
    user = UserFactory()
    page.add_init_script(RECORD_STREAMS)
    log_in(page, user)
    start = page.get_by_role("button", name="Use my camera")

    start.click()
    page.locator("#camera-live").wait_for(state="visible")
    assert start.is_hidden()  # `hidden` beats .button's display
    page.get_by_role("button", name="Stop the camera").click()
    assert page.evaluate(TRACK_STATES) == ["ended"]
    assert start.is_visible()

    # A second start, clicked twice before the browser answers, opens one stream; capturing stops it.
    start.evaluate("(button) => { button.click(); button.click(); }")
    page.locator("#camera-live").wait_for(state="visible")
    page.wait_for_function("() => document.getElementById('camera-video').videoWidth > 0")
    page.get_by_role("button", name="Take the photo").click()
    page.locator("#upload-status").filter(has_text="Ready.").wait_for()
    assert page.evaluate(TRACK_STATES) == ["ended", "ended"]

    start.click()
    page.locator("#camera-live").wait_for(state="visible")
    page.evaluate("window.dispatchEvent(new PageTransitionEvent('pagehide'))")
    assert page.evaluate(TRACK_STATES) == ["ended", "ended", "ended"]


def test_the_mood_sentence_follows_the_panel_and_the_profile(page, live_server):
    load_seed_songs()
    user = UserFactory(strategy="match")
    detection = open_result(page, user)
    summary = page.locator("[data-rec-summary]")
    # Scared 41 %, surprised 40 %: a point high on energy, in Energetic's region of the mood map.
    summary.filter(has_text="Match my mood → Energetic songs").wait_for()
    assert page.locator("[data-mood-name]").inner_text() == "Energetic"

    page.get_by_label("Strategy").select_option("calm")
    summary.filter(has_text="Calm me down → Calm songs").wait_for()
    assert page.locator("[data-mood-line]").inner_text() == "For “Calm me down”, your songs are Calm."
    assert page.locator("[data-rec-strategy-note]").is_visible()
    assert "strategy=calm" in page.url

    page.reload()  # the panel's choice for this result survives a reload
    summary.filter(has_text="Calm me down → Calm songs").wait_for()
    assert page.get_by_label("Strategy").input_value() == "calm"
    assert page.locator("[data-mood-name]").inner_text() == "Calm"

    # A new default in the profile: old results follow it.
    page.goto("/accounts/profile/")
    page.get_by_label("Lift my mood").check()
    page.get_by_role("button", name="Save preferences").click()
    page.goto(f"/detections/{detection.pk}/")
    summary.filter(has_text="Lift my mood → ").wait_for()
    mood = summary.inner_text().rsplit("→ ", 1)[1].removesuffix(" songs")
    assert page.locator("[data-mood-name]").inner_text() == mood
    assert f"For “Lift my mood”, your songs are {mood}." == page.locator("[data-mood-line]").inner_text()


def test_pick_my_mood_keeps_the_strategy_and_its_style(page, live_server):
    load_seed_songs()
    user = UserFactory()
    log_in(page, user)
    page.goto("/mood/")
    sad = page.get_by_role("button", name="Sad")
    # Styled on arrival: the panel's stylesheet is in the head, not loaded with the panel.
    assert sad.evaluate("(button) => getComputedStyle(button).borderRadius") == "999px"
    sad.click()
    page.get_by_label("Strategy").select_option("calm")
    page.locator("[data-rec-summary]").filter(has_text="Calm me down").wait_for()
    page.get_by_role("button", name="Angry").click()
    page.locator("[data-rec-summary]").filter(has_text="Angry · Calm me down → Calm songs").wait_for()
    assert page.get_by_label("Strategy").input_value() == "calm"


def test_a_slow_answer_to_an_earlier_choice_never_replaces_the_latest(page, live_server):
    load_seed_songs()
    user = UserFactory()
    log_in(page, user)
    held = []

    def hold_the_first_answer(route):
        if "strategy=match" in route.request.url and not held:
            held.append(route)  # the page's first load, answered only after the user's change
        else:
            route.continue_()

    page.route("**/api/recommendations/**", hold_the_first_answer)
    page.goto("/mood/?emotion=sad")
    summary = page.locator("[data-rec-summary]")
    page.wait_for_function("() => document.querySelector('[data-rec-list]').getAttribute('aria-busy') === 'true'")
    page.get_by_label("Strategy").select_option("calm")
    summary.filter(has_text="Sad · Calm me down → Calm songs").wait_for()
    assert len(held) == 1

    held[0].continue_()  # the browser cancelled it; whatever comes back must not be drawn
    page.wait_for_timeout(500)
    assert summary.inner_text() == "Sad · Calm me down → Calm songs"
    assert page.locator("[data-rec-list]").get_attribute("aria-busy") == "false"


def test_a_result_that_fails_to_load_once_is_shown_on_the_next_poll(page, live_server):
    load_seed_songs()
    user = UserFactory()
    detection = group_detection(user)
    Detection.objects.filter(pk=detection.pk).update(status=DetectionStatus.PROCESSING)
    log_in(page, user)
    dropped = []

    def drop_the_first_result(route):
        if not dropped:
            dropped.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(f"**/detections/{detection.pk}/result*", drop_the_first_result)
    page.goto(f"/detections/{detection.pk}/")
    Detection.objects.filter(pk=detection.pk).update(status=DetectionStatus.DONE)

    page.get_by_role("heading", name="You look scared or surprised").wait_for()
    assert len(dropped) == 1
    assert page.locator("#detection-result").get_attribute("data-status") == "done"


def test_emotions_read_as_words(page, live_server):
    load_seed_songs()
    user = UserFactory()
    shares = probabilities(surprise=0.8, happy=0.2)
    open_result(page, user, shares=shares)
    page.get_by_role("heading", name="You look surprised").wait_for()
    text = page.locator("main").inner_text()
    assert "surprised" in text and not re.search(r"\bsurprise\b", text, re.IGNORECASE)
    assert "emotion-test-model" not in page.content()
    page.goto("/history/")
    assert "Surprised" in page.locator("main").inner_text()


def test_a_near_tie_and_a_mix_are_said(page, live_server):
    load_seed_songs()
    user = UserFactory()
    open_result(page, user)
    page.get_by_role("heading", name="You look scared or surprised").wait_for()
    assert "It's close: scared 41%, surprised 40%." in page.locator("main").inner_text()
    assert (
        page.locator("[data-mood-because]").inner_text()
        == "Scared 41%, surprised 40% and sad 12% together → Energetic songs."
    )


def test_get_detections_new_lands_on_the_upload_page(page, live_server):
    user = UserFactory()
    page.goto("/detections/new")
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/detections/new$"))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name=re.compile("log in", re.IGNORECASE)).click()
    page.get_by_role("heading", name="How are you feeling?").wait_for()
    assert page.url == f"{live_server.url}/"


def test_no_page_is_wider_than_a_phone(page, live_server, staff_user):
    load_seed_songs()
    detection = group_detection(staff_user)
    Rating.objects.create(user=staff_user, song_id=_any_song_id(), score=4, detection=detection, emotion="fear")
    log_in(page, staff_user)
    page.set_viewport_size(PHONE)
    widths = {}
    for path in (
        "/",
        f"/detections/{detection.pk}/",
        "/history/",
        "/mood/?emotion=sad",
        "/songs/",
        "/accounts/profile/",
        "/accounts/delete/",
        f"/detections/{detection.pk}/delete",
        "/admin/catalog/song/import/",
    ):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        widths[path] = page_width(page)
    assert widths == dict.fromkeys(widths, PHONE["width"])


def _any_song_id() -> int:
    from catalog.models import Song

    return Song.objects.order_by("id").values_list("id", flat=True).first()


def test_on_a_phone_the_emotion_and_the_songs_are_above_the_fold(page, live_server):
    load_seed_songs()
    user = UserFactory()
    detection = group_detection(user)
    log_in(page, user)
    page.set_viewport_size(PHONE)
    page.goto(f"/detections/{detection.pk}/")
    page.locator(".rec-item").first.wait_for()
    heading = page.locator("#emotion-heading").bounding_box()
    first_song = page.locator(".rec-item").first.bounding_box()
    photo = page.locator(".photo-frame img").bounding_box()
    assert heading["y"] + heading["height"] <= PHONE["height"]
    assert first_song["y"] < PHONE["height"]
    assert photo["width"] <= 120  # a thumbnail


def test_secondary_and_danger_buttons_look_like_themselves(page, live_server):
    user = UserFactory()
    detection = group_detection(user)
    log_in(page, user)
    page.goto(f"/detections/{detection.pk}/delete")
    danger = page.get_by_role("button", name="Yes, delete it")
    secondary = page.get_by_role("link", name="No, keep it")
    assert danger.evaluate("(node) => getComputedStyle(node).backgroundColor") == "rgb(179, 38, 30)"
    assert secondary.evaluate("(node) => getComputedStyle(node).backgroundColor") == "rgba(0, 0, 0, 0)"
    page.goto("/accounts/delete/")
    final = page.get_by_role("button", name="Delete my account for good")
    assert final.evaluate("(node) => getComputedStyle(node).backgroundColor") == "rgb(179, 38, 30)"
    page.goto("/")
    camera = page.get_by_role("button", name="Use my camera")
    assert camera.evaluate("(node) => getComputedStyle(node).backgroundColor") == "rgba(0, 0, 0, 0)"


def test_the_no_face_page_offers_two_ways_on(page, live_server):
    user = UserFactory()
    detection = DetectionFactory(
        user=user, status=DetectionStatus.NO_FACE, error="We couldn't find a face. Try a well-lit photo."
    )
    log_in(page, user)
    page.goto(f"/detections/{detection.pk}/")
    assert page.locator("main").inner_text().count("find a face") == 1
    page.get_by_role("link", name="Try the camera").wait_for()
    page.get_by_role("link", name="Pick my mood instead").click()
    page.get_by_role("heading", name="How do you feel?").wait_for()


# --- A music app ---------------------------------------------------------------------------------------------


def test_the_mini_player_stays_and_queues_the_list(page, live_server):
    load_seed_songs()
    user = UserFactory()
    detection = group_detection(user)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    log_in(page, user)
    page.goto(f"/detections/{detection.pk}/")
    items = page.locator(".rec-item")
    items.first.wait_for()
    assert not [url for url in requests if "spotify.com" in url]

    player = page.locator("[data-mini-player]")
    second = items.nth(1)
    spotify_id = second.locator("a", has_text="Open in Spotify").get_attribute("href").rsplit("/", 1)[1]
    play = second.get_by_role("button", name=re.compile("^Play"))
    play.click()
    assert player.is_visible() and play.is_enabled()
    assert player.locator("iframe").get_attribute("src") == f"https://open.spotify.com/embed/track/{spotify_id}"
    assert player.locator("[data-mini-title]").inner_text().startswith("2 of 10: ")

    # Rating a song refreshes the list; the player stays, playing the same song.
    items.nth(3).locator("label[title='4 stars']").click()
    page.locator("[data-rec-status]").filter(has_text="Saved 4 stars").wait_for()
    assert player.is_visible()
    assert player.locator("iframe").get_attribute("src").endswith(spotify_id)

    player.get_by_role("button", name="Next").click()
    assert player.locator("[data-mini-title]").inner_text().startswith("3 of 10: ")
    player.get_by_role("button", name="Close the player").click()
    assert player.is_hidden() and player.locator("iframe").count() == 0

    page.get_by_role("button", name="▶ Play all", exact=True).click()  # a song may be called "All ..."
    assert player.locator("[data-mini-title]").inner_text().startswith("1 of 10: ")


def test_a_low_rating_removes_the_song_with_an_undo(page, live_server):
    load_seed_songs()
    user = UserFactory()
    open_result(page, user)
    items = page.locator(".rec-item")
    items.first.wait_for()
    first = items.first
    assert first.locator(".rec-rate-label").inner_text() == "Rate"
    # Hover fills the stars up to the cursor.
    first.locator("label[title='3 stars']").hover()
    colours = first.locator("label").evaluate_all("(labels) => labels.map((l) => getComputedStyle(l).color)")
    assert colours[:3] == [colours[0]] * 3 and colours[3] != colours[0] and colours[4] == colours[3]

    song_id = first.get_attribute("data-song")
    first.locator("label[title='1 star']").click()
    undo = page.locator("[data-rec-undo]")
    undo.wait_for(state="visible")
    page.locator(f'.rec-item[data-song="{song_id}"]').wait_for(state="detached")
    assert Rating.objects.filter(user=user, song_id=song_id, score=1).exists()
    undo.get_by_role("button", name="Undo").click()
    page.locator(f'.rec-item[data-song="{song_id}"]').wait_for()
    assert not Rating.objects.filter(user=user).exists()


def test_the_list_can_be_taken_away(page, live_server):
    load_seed_songs()
    user = UserFactory()
    detection = group_detection(user)
    log_in(page, user)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"/detections/{detection.pk}/")
    page.locator(".rec-item").first.wait_for()
    links = page.locator(".rec-item a", has_text="Open in Spotify").evaluate_all("(as) => as.map((a) => a.href)")

    with page.expect_download() as m3u:
        page.get_by_role("button", name="Save as playlist (M3U)").click()
    playlist = Path(m3u.value.path()).read_text()
    assert m3u.value.suggested_filename == "emomusic-energetic-match.m3u"
    assert playlist.startswith("#EXTM3U\n")
    assert [line for line in playlist.splitlines() if not line.startswith("#")] == links

    with page.expect_download() as table:
        page.get_by_role("button", name="Save as CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(table.value.path()).read_text())))
    assert [row["spotify_url"] for row in rows] == links and rows[0]["position"] == "1"

    page.get_by_role("button", name="Copy all links").click()
    page.locator("[data-rec-status]").filter(has_text="Copied 10 Spotify links.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()").split("\n") == links


def test_which_one_is_you(page, live_server):
    load_seed_songs()
    user = UserFactory()
    detection = open_result(page, user)
    page.get_by_role("group", name="Which one is you?").wait_for()
    assert page.locator(".face-number").all_text_contents() == ["1", "2"]  # left to right
    page.get_by_role("button", name="Face 2, looks happy").click()
    page.get_by_role("heading", name="You look happy").wait_for()
    page.locator("[data-rec-summary]").filter(has_text="Happy · Match my mood → Happy songs").wait_for()
    detection.refresh_from_db()
    assert (detection.main_face, detection.emotion) == (1, "happy")


# --- Accessibility and screenshots ------------------------------------------------------------------------


def test_the_main_pages_have_no_serious_accessibility_violations(page, live_server, staff_user):
    from axe_playwright_python.sync_playwright import Axe

    load_seed_songs()
    detection = group_detection(staff_user)
    log_in(page, staff_user)
    axe = Axe()
    found = {}
    for path, ready in (
        ("/", "#upload-form"),
        (f"/detections/{detection.pk}/", ".rec-item"),
        ("/history/", "main h1"),
        ("/mood/?emotion=sad", ".rec-item"),
        ("/songs/", "main h1"),
        ("/accounts/profile/", "main h1"),
        ("/admin/catalog/song/import/", "form"),
    ):
        page.goto(path)
        page.locator(ready).first.wait_for()
        results = axe.run(page)
        serious = [
            f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']]}"
            for violation in results.response["violations"]
            if violation["impact"] in ("serious", "critical")
        ]
        if serious:
            found[path] = serious
    assert found == {}


@pytest.mark.skipif(not os.environ.get("SCREENS_DIR"), reason="set SCREENS_DIR to write the result page's screenshots")
def test_screenshots_of_the_result_page(page, live_server):
    load_seed_songs()
    user = UserFactory(strategy="match")
    detection = group_detection(user)
    log_in(page, user)
    folder = Path(os.environ["SCREENS_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    suffix = os.environ.get("SCREENS_SUFFIX", "after")
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.goto(f"/detections/{detection.pk}/")
        page.locator(".rec-item").first.wait_for()
        page.screenshot(path=str(folder / f"result-{name}-{suffix}.png"), full_page=True)
