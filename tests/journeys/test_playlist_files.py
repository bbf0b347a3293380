"""The result page's playlist files hold the catalog's text as data, whatever a song's name holds."""

import csv
import io
from pathlib import Path

import pytest
from django.utils import timezone

from catalog.models import Song
from recommendations.catalog_cache import catalog_forget
from tests.factories import UserFactory
from tests.journeys.conftest import log_in
from tests.journeys.test_result_page import group_detection
from tests.recommendations.conftest import load_seed_songs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A name that, written as it is, adds an entry of its own to an M3U file.
INJECTED_NAME = "Sad Song\n#EXTINF:1,Elsewhere\r\nhttps://evil.example/track.mp3\u2028#EXTM3U"
# A formula to a spreadsheet, behind a tab that the browser's CSV escaping used to let through.
FORMULA = '\t=HYPERLINK("https://evil.example")'


def test_the_m3u_has_one_line_per_field_and_the_csv_escapes_formulas(page, live_server):
    load_seed_songs()
    Song.objects.update(name=INJECTED_NAME, artist=FORMULA, updated=timezone.now())
    catalog_forget()
    user = UserFactory()
    detection = group_detection(user)
    log_in(page, user)
    page.goto(f"/detections/{detection.pk}/")
    page.locator(".rec-item").first.wait_for()
    links = page.locator(".rec-item a", has_text="Open in Spotify").evaluate_all("(as) => as.map((a) => a.href)")

    with page.expect_download() as m3u:
        page.get_by_role("button", name="Save as playlist (M3U)").click()
    playlist = Path(m3u.value.path()).read_text(encoding="utf-8")

    lines = playlist.split("\n")
    assert lines[-1] == "" and not any(mark in playlist for mark in ("\r", "\u2028", "\u2029"))
    assert lines[0] == "#EXTM3U" and lines[1].startswith("#PLAYLIST:")
    entries = lines[2:-1]
    assert len(entries) == 2 * len(links)
    assert entries[1::2] == links
    assert all(line.startswith("#EXTINF:") for line in entries[0::2])
    assert "evil.example/track.mp3" not in "".join(entries[1::2])

    with page.expect_download() as table:
        page.get_by_role("button", name="Save as CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(table.value.path()).read_text(encoding="utf-8"), newline="")))
    assert len(rows) == len(links)
    assert {row["artist"] for row in rows} == {"'" + FORMULA}
