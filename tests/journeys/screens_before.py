"""The "before" screens of docs/screens: the six pages of `make screens` as an earlier commit drew them.

`make screens-before` copies this module into a worktree of that commit (as its
tests/journeys/test_screens_before.py) and runs it there, on that code's live
server, fixtures and factories. It leans only on what both that code and this
one have (the Detection model, load_seed_songs, the `page` and `staff_user`
fixtures, the fake camera) and draws what test_phone_and_pages.py::test_screens
draws "after"; its name keeps it out of this tree's own test run.
"""

import io
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from detection.models import Detection, DetectionStatus
from tests.conftest import FACES_DIR
from tests.factories import TEST_PASSWORD
from tests.recommendations.conftest import load_seed_songs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def probabilities(**shares: float) -> dict[str, float]:
    return {label: 0.0 for label in LABELS} | shares


def finished_detection(user, *, faces: list[tuple[list[int], dict[str, float]]], photo: Image.Image) -> Detection:
    """A finished reading of `photo`, written as the worker writes it: the first of `faces` is the main one.

    Made from the model's fields rather than a factory, whose arguments differ between commits."""
    readings = [
        {"box": box, "emotion": max(shares, key=shares.get), "probabilities": shares, "score": 1.0, "fallback": False}
        for box, shares in faces
    ]
    main = readings[0]
    detection = Detection(
        user=user,
        status=DetectionStatus.DONE,
        emotion=main["emotion"],
        confidence=main["probabilities"][main["emotion"]],
        probabilities=main["probabilities"],
        faces=readings,
        image_width=photo.width,
        image_height=photo.height,
        model_version="emotion-test-model",
    )
    stored = io.BytesIO()
    photo.convert("RGB").save(stored, "JPEG", quality=85)
    detection.image.save("photo.jpg", ContentFile(stored.getvalue()), save=False)
    detection.save()
    return detection


def group_detection(user) -> Detection:
    """The group photo of the "after" screens: two faces, the larger on the left read scared 41 %."""
    left = Image.open(FACES_DIR / "fear_1.jpg").convert("RGB").resize((350, 450))
    right = Image.open(FACES_DIR / "happy_2.jpg").convert("RGB").resize((300, 300))
    photo = Image.new("RGB", (700, 480), (235, 235, 240))
    photo.paste(left, (10, 15))
    photo.paste(right, (380, 90))
    return finished_detection(
        user,
        faces=[
            ([60, 80, 250, 250], probabilities(fear=0.41, surprise=0.40, sad=0.12, angry=0.07)),
            ([430, 140, 200, 200], probabilities(happy=0.9, neutral=0.1)),
        ],
        photo=photo,
    )


def history_of(user, *, selfies: int = 20) -> None:
    now = timezone.now()
    emotions = ["happy", "sad", "neutral", "angry", "surprise"]
    face = Image.open(FACES_DIR / "happy_1.jpg")
    for days_ago in range(selfies):
        shares = probabilities(**{emotions[days_ago % 5]: 0.9, "fear": 0.1})
        detection = finished_detection(user, faces=[([0, 0, face.width, face.height], shares)], photo=face)
        Detection.objects.filter(pk=detection.pk).update(created=now - timedelta(days=days_ago))


def wait_for_the_camera(page) -> None:
    for _ in range(100):
        if page.evaluate("document.getElementById('camera-video').videoWidth") > 0:
            return
        page.wait_for_timeout(100)
    raise AssertionError("the camera's picture never arrived")


@pytest.mark.fake_camera
def test_screens_before(page, live_server, staff_user):
    load_seed_songs()
    folder = Path(os.environ["SCREENS_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    detection = group_detection(staff_user)
    history_of(staff_user)

    def shoot(name: str, *, full_page: bool = True) -> None:
        for device, size in SIZES.items():
            page.set_viewport_size(size)
            page.reload()
            page.wait_for_load_state("networkidle")
            if name == "upload-camera":
                page.get_by_role("button", name="Use my camera").click()
                wait_for_the_camera(page)
            if full_page:
                page.mouse.wheel(0, 20_000)
                page.wait_for_load_state("networkidle")
                page.mouse.wheel(0, -20_000)
            page.screenshot(path=str(folder / f"{name}-{device}-before.png"), full_page=full_page)

    page.goto("/")
    shoot("landing")
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(staff_user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name=re.compile("log in", re.IGNORECASE)).click()
    page.wait_for_url(re.compile(r"/$"))
    shoot("upload-camera", full_page=False)
    page.goto(f"/detections/{detection.pk}/")
    shoot("result")
    for name, path in (("history", "/history/"), ("profile", "/accounts/profile/"), ("dashboard", "/admin/insights/")):
        page.goto(path)
        shoot(name)
