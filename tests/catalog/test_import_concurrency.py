"""A long import leaves the database to other writers between its batches (SQLite lets one writer in at a time).

bench/catalog_import_bench.py runs the same against gunicorn with 100,000 rows.
"""

import threading
import time

import pytest

from catalog import services
from catalog.models import Song
from recommendations.services import rating_upsert
from tests.catalog.conftest import CATALOG_FIXTURES
from tests.factories import SongFactory, UserFactory

# Sixty batches of 100. On a loaded machine a rating sometimes waits out several batches in a row (SQLite's
# busy handler retries at growing intervals, up to 100 ms), so the test asks for ratings between a few of them,
# not between all of them, and measures no time.
ROWS = 6000


@pytest.mark.slow
def test_ratings_posted_during_an_import_neither_fail_nor_wait_for_all_of_it(transactional_db, tmp_path, monkeypatch):
    monkeypatch.setattr(services, "IMPORT_BATCH_ROWS", 100)
    rows = (CATALOG_FIXTURES / "bad_rows.csv").read_text().splitlines()
    header, prince = rows[0], rows[1]
    csv_path = tmp_path / "many.csv"
    csv_path.write_text(
        "\n".join([header, *(prince.replace("2H7PHVdQ3mXqEHXcvclTB0", f"many{index:018d}") for index in range(ROWS))])
    )
    user, song = UserFactory(), SongFactory()
    imported = threading.Event()
    songs_committed_after_each_rating: list[int] = []
    failures: list[Exception] = []

    def import_it() -> None:
        try:
            services.songs_import(csv_file=csv_path)
        finally:
            imported.set()

    importer = threading.Thread(target=import_it)
    importer.start()
    while not imported.is_set():
        try:
            rating_upsert(user=user, song=song, score=1 + len(songs_committed_after_each_rating) % 5)
        except Exception as error:  # any failure is the finding
            failures.append(error)
        songs_committed_after_each_rating.append(Song.objects.filter(spotify_id__startswith="many").count())
        time.sleep(0.01)
    importer.join()

    assert failures == []
    assert Song.objects.filter(spotify_id__startswith="many").count() == ROWS
    # One transaction for all the rows would hold every rating until the import ends, so each would see none of
    # the rows or all of them. Batches let ratings in between them, each seeing part of the import.
    seen_mid_import = {count for count in songs_committed_after_each_rating if 0 < count < ROWS}
    assert len(seen_mid_import) >= 3, songs_committed_after_each_rating
