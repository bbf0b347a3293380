"""Whole journeys, as a person clicks through them, against a live server and a real Celery worker.

The page fixture (conftest.py) saves a screenshot when a journey fails, and
`step_screenshots` keeps one per step of a failed journey under
test-artifacts/<test name>/.
"""

import csv
import io
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from catalog.models import Song
from detection.models import Detection, DetectionStatus
from recommendations.models import Rating
from tests.conftest import FACES_DIR, FIXTURES_DIR
from tests.factories import TEST_PASSWORD, UserFactory
from tests.journeys.conftest import log_in
from tests.recommendations.conftest import load_seed_songs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The worker loads the model once; the first photo can take a while on a busy machine.
ANALYSIS_TIMEOUT_MS = 90_000
NEW_PASSWORD = "correct horse battery staple 42"


def test_sign_up_upload_rate_history_delete_log_out(page, step_screenshots, live_server, celery_worker_factory):
    load_seed_songs()
    worker = celery_worker_factory()

    # Sign up.
    page.goto("/")
    page.get_by_role("link", name="Sign up, it's free").click()
    page.get_by_label("Username").fill("journey_ann")
    page.get_by_label("Email").fill("ann@example.com")
    page.get_by_label(re.compile(r"^Password:?$")).fill(NEW_PASSWORD)
    page.get_by_label("Password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.get_by_role("heading", name="How are you feeling?").wait_for()
    step_screenshots("signed-up")
    user = get_user_model().objects.get(username="journey_ann")

    # Upload a face photo through the page's file input.
    page.set_input_files("input[type=file]", str(FACES_DIR / "happy_1.jpg"))
    page.locator("#upload-status").filter(has_text="Ready.").wait_for()
    assert page.locator("#preview-image").is_visible()
    page.get_by_role("button", name="Analyse").click()
    page.wait_for_url(re.compile(r"/detections/\d+/$"))
    detection = Detection.objects.get(user=user)
    assert page.url.endswith(f"/detections/{detection.pk}/")
    step_screenshots("uploaded")

    # The result arrives in place: the emotion and all seven probabilities.
    try:
        page.get_by_role("heading", name=re.compile("^You look ")).wait_for(timeout=ANALYSIS_TIMEOUT_MS)
    except Exception:
        print(worker.log()[-4000:])
        raise
    detection.refresh_from_db()
    assert detection.status == DetectionStatus.DONE
    heading = page.get_by_role("heading", name=re.compile("^You look ")).inner_text()
    assert detection.get_emotion_display().lower() in heading.lower()
    labels = page.locator(".prob-chart .prob-label").all_inner_texts()
    assert [label.lower() for label in labels] == [
        "angry",
        "disgusted",
        "scared",
        "happy",
        "sad",
        "surprised",
        "neutral",
    ]
    percents = [int(text.rstrip("%")) for text in page.locator(".prob-chart .prob-value").all_inner_texts()]
    assert 97 <= sum(percents) <= 103
    assert page.locator("img[alt^='Your photo']").is_visible()
    step_screenshots("result")

    # Recommendations, then a 1-star rating that removes only that row; the others stay where they were.
    items = page.locator(".rec-item")
    items.first.wait_for()
    assert items.count() == 10
    before = [item.get_attribute("data-song") for item in items.all()]
    rated = int(before[0])
    items.first.locator("label[title='1 star']").click()
    page.locator("[data-rec-status]").filter(has_text="Saved 1 star").wait_for()
    page.locator(f'.rec-item[data-song="{rated}"]').wait_for(state="detached")
    after = [item.get_attribute("data-song") for item in items.all()]
    assert after == before[1:]
    rating = Rating.objects.get(user=user)
    assert (rating.song_id, rating.score, rating.detection_id) == (rated, 1, detection.pk)
    step_screenshots("rated")

    # History shows the selfie and the rating.
    page.get_by_role("link", name="History").first.click()
    page.wait_for_url("**/history/")
    song_name = Song.objects.get(pk=rated).name
    assert page.get_by_text(song_name).first.is_visible()
    assert page.locator(f'a[href="/detections/{detection.pk}/"]').count() >= 1
    step_screenshots("history")

    # Delete the detection (and its photo).
    page.goto(f"/detections/{detection.pk}/")
    page.get_by_role("link", name="Delete this result").click()
    page.get_by_role("button", name="Yes, delete it").click()
    page.get_by_text("The result and its photo were deleted.").wait_for()
    assert not Detection.objects.filter(pk=detection.pk).exists()
    # The rating is about the song: it stays, unlinked, so the recommender keeps it.
    assert Rating.objects.filter(user=user, song_id=rated, score=1, detection=None, emotion=rating.emotion).exists()
    step_screenshots("deleted")

    # Log out.
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("heading", name="Music for how you feel right now").wait_for()
    assert page.get_by_role("link", name="Log in").first.is_visible()
    page.goto("/history/")
    page.wait_for_url(re.compile(r"/accounts/login/"))


@pytest.mark.fake_camera
def test_a_webcam_snapshot_is_analysed_and_shown_in_place(page, step_screenshots, live_server, celery_worker_factory):
    """Chromium's fake camera shows a synthetic pattern (no face): the page says so without reloading."""
    worker = celery_worker_factory()
    user = UserFactory()
    log_in(page, user)

    page.get_by_role("button", name="Use my camera").click()
    page.locator("#upload-status").filter(has_text="Camera on.").wait_for()
    page.wait_for_function("() => document.getElementById('camera-video').videoWidth > 0")
    step_screenshots("camera-on")
    page.get_by_role("button", name="Take the photo").click()
    page.locator("#preview-caption").filter(has_text="Photo from your camera").wait_for()
    page.get_by_role("button", name="Analyse").click()
    page.wait_for_url(re.compile(r"/detections/\d+/$"))
    detection = Detection.objects.get(user=user)
    step_screenshots("uploaded")

    # A marker that a reload would wipe: the result must arrive in this same document.
    page.evaluate("window.__sameDocument = true")
    result = page.locator("#detection-result")
    try:
        result.get_by_role("heading", name=re.compile("We couldn't find a face|You look|We couldn't analyse")).wait_for(
            timeout=ANALYSIS_TIMEOUT_MS
        )
    except Exception:
        print(worker.log()[-4000:])
        raise
    assert page.evaluate("window.__sameDocument") is True
    detection.refresh_from_db()
    print(f"webcam snapshot ended {detection.status}: {detection.error}")
    assert detection.status in {DetectionStatus.NO_FACE, DetectionStatus.DONE}, (detection.status, detection.error)
    if detection.status == DetectionStatus.NO_FACE:
        assert result.get_by_role("heading", name="We couldn't find a face").is_visible()
        assert result.get_by_role("link", name="Pick my mood instead").is_visible()
        assert result.get_by_role("link", name="Try the camera").is_visible()
    # The camera's frame was stored upright at its own size, not the file name the script gave it.
    # Wait for the stored photo to load: before that its natural size reads 0 x 0. (Predicates are functions:
    # Playwright evals a bare expression, which the Content-Security-Policy refuses.)
    page.wait_for_function(
        "() => (img => img && img.complete && img.naturalWidth > 0)(document.querySelector('.photo-frame img'))"
    )
    natural_size = page.evaluate(
        "(img => [img.naturalWidth, img.naturalHeight])(document.querySelector('.photo-frame img'))"
    )
    assert (detection.image_width, detection.image_height) == tuple(natural_size)
    assert "camera" not in detection.image.name
    step_screenshots("result")


def test_staff_imports_a_csv_in_the_admin_and_edits_a_song(page, step_screenshots, live_server, tmp_path):
    staff = UserFactory(staff=True)
    rows = list(csv.DictReader((FIXTURES_DIR / "catalog" / "bad_rows.csv").open()))
    good = rows[0]
    songs_csv = tmp_path / "songs.csv"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[name for name in good if name != "comment"], extrasaction="ignore")
    writer.writeheader()
    writer.writerow(good)
    second = dict(good, id="journeySong00000000001", name="Journey Song", artist="Test Artist", mood="Calm")
    writer.writerow(second)
    songs_csv.write_text(buffer.getvalue())

    page.goto("/admin/")
    page.get_by_label("Username").fill(staff.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/admin/$"))
    page.goto("/admin/catalog/song/")
    page.get_by_role("link", name="Import songs from CSV").click()
    step_screenshots("import-form")
    page.get_by_label("Songs CSV").set_input_files(str(songs_csv))
    page.get_by_role("button", name="Import").click()
    page.locator(".messagelist").filter(has_text="Import finished").wait_for()
    step_screenshots("imported")
    assert Song.objects.count() == 2
    imported = Song.objects.get(spotify_id="journeySong00000000001")
    assert (imported.name, imported.artist, imported.mood.name) == ("Journey Song", "Test Artist", "Calm")

    page.goto("/admin/catalog/song/")
    page.get_by_role("link", name="Journey Song").click()
    page.get_by_label(re.compile(r"^Name:?$")).fill("Journey Song (Remastered)")
    page.get_by_label(re.compile(r"^Popularity:?$")).fill("91")
    page.get_by_role("button", name="Save", exact=True).click()
    page.locator(".messagelist").filter(has_text="was changed successfully").wait_for()
    step_screenshots("edited")
    imported.refresh_from_db()
    assert (imported.name, imported.popularity) == ("Journey Song (Remastered)", 91)
    assert Song.objects.count() == 2


HOSTILE_NAME = '<img src=x onerror="window.__xss=1">"; alert(1); //'


def test_hostile_song_and_user_names_are_shown_as_text(page, step_screenshots, live_server):
    """A catalog row or a username made of markup is shown literally; no script of it runs."""
    from recommendations.catalog_cache import catalog_forget

    load_seed_songs()
    Song.objects.update(name=HOSTILE_NAME, artist="<script>window.__xss=2</script>")
    catalog_forget()
    user = UserFactory(username="<b>eve</b>")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    log_in(page, user)
    page.goto("/mood/")
    page.get_by_role("button", name="Sad").click()
    items = page.locator(".rec-item")
    items.first.wait_for()
    step_screenshots("panel")
    assert HOSTILE_NAME in items.first.inner_text()
    items.first.locator("label[title='4 stars']").click()
    page.locator("[data-rec-status]").filter(has_text="Saved 4 stars").wait_for()
    assert page.evaluate("window.__xss") is None
    for url in ("/history/", "/songs/", "/accounts/profile/"):
        page.goto(url)
        page.wait_for_load_state("load")
        step_screenshots(url.strip("/").replace("/", "-"))
        assert page.evaluate("window.__xss") is None, url
        assert page.locator("img[src=x]").count() == 0, url
        assert page.locator("b", has_text="eve").count() == 0, url
    assert dialogs == []


def test_bad_files_are_refused_in_place_with_a_sentence(page, step_screenshots, live_server, tmp_path, settings):
    """The upload page's script shows the API's refusal where the user is looking; nothing is stored."""
    from tests.hardening.corpus import CORPUS

    user = UserFactory()
    log_in(page, user)
    refused = {case.id: case for case in CORPUS if case.status == 400 and case.id != "empty"}
    for case_id in ("text-renamed-jpg", "svg", "decompression-bomb", "animated-gif", "1x1", "12-mb-photo"):
        case = refused[case_id]
        path = tmp_path / case.name
        path.write_bytes(case.content)
        page.set_input_files("input[type=file]", str(path))
        page.get_by_role("button", name="Analyse").click()
        status = page.locator("#upload-status.is-error")
        if case_id == "12-mb-photo":
            # The script warns as soon as it is chosen; the server refuses it with the same limit.
            status.filter(has_text="larger than the 10 MB limit").wait_for()
        else:
            status.filter(has_text=case.message).wait_for()
        step_screenshots(case_id)
        assert page.url.rstrip("/") == live_server.url
        assert page.get_by_role("button", name="Analyse").is_enabled()
    assert not Detection.objects.exists()
    media = Path(settings.MEDIA_ROOT)
    assert not media.exists() or not [path for path in media.rglob("*") if path.is_file()]
