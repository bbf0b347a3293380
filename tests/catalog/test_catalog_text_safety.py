"""What the catalog lets into a song's Spotify id and its names, whichever way a song comes in.

A Spotify id ends up in links and playlist files: only Spotify's own shape (22 letters and digits) is
accepted. Names are shown as they are: the invisible characters that reorder or hide text (bidi
controls, zero-width characters) are taken out on import and refused where a person types a name.
"""

import csv
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.management.commands.seed_catalog import SEED_GENRES, SEED_SONGS
from catalog.models import Song
from catalog.services import songs_import
from tests.catalog.conftest import CATALOG_FIXTURES
from tests.factories import SongFactory

SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")
HEADER = (
    "name,album,artist,id,release_date,popularity,length,danceability,acousticness,energy,instrumentalness,"
    "liveness,valence,loudness,speechiness,tempo,key,time_signature,mood"
)
FEATURES = "1982-10-27,68,379266,0.866,0.137,0.73,0,0.0843,0.625,-8.201,0.0767,118.523,5,4,Happy"
BAD_IDS = ["../../../user/spotify", "x?autoplay=1#frag", "2H7PHVdQ3mXqEHXcvclTB", "2H7PHVdQ3mXqEHXcvclTB0x"]
# U+202A-U+202E and U+2066-U+2069 reorder text; U+200B-U+200D, U+2060 and U+FEFF are invisible.
HIDDEN = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200c\u200d\u2060\ufeff"

pytestmark = pytest.mark.django_db


def song_csv(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def row(*, name: str = "1999", album: str = "1999", artist: str = "Prince", spotify_id: str = "2H7PHVdQ3mXqEHXcvclTB0"):
    cells = [name, album, artist, spotify_id]
    return ",".join(f'"{cell}"' for cell in cells) + "," + FEATURES


def admin_form_data(staff, song: Song) -> dict:
    form = staff.get(reverse("admin:catalog_song_change", args=[song.pk])).context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data["mood"] = ""
    return data


def the_admin_refuses(staff, field: str, value: str) -> Song:
    """Post `value` as a song's `field` in the admin; assert the form refuses it and return the song as stored."""
    song = SongFactory()
    data = admin_form_data(staff, song)
    data[field] = value

    response = staff.post(reverse("admin:catalog_song_change", args=[song.pk]), data)

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    song.refresh_from_db()
    return song


def the_api_refuses(staff_client, field: str, value: str) -> Song:
    """PATCH `value` as a song's `field` through the API; assert the 400 names it and return the song as stored."""
    song = SongFactory()

    response = staff_client.patch(f"/api/songs/{song.pk}/", {field: value}, format="json")

    assert response.status_code == 400
    assert field in response.json()
    song.refresh_from_db()
    return song


class TestSpotifyId:
    @pytest.mark.parametrize("spotify_id", BAD_IDS)
    def test_the_import_skips_a_row_whose_id_is_not_spotifys(self, spotify_id):
        report = songs_import(csv_file=song_csv(row(spotify_id=spotify_id)))

        assert report.created == 0
        (skipped,) = report.skipped
        assert skipped.line == 2
        assert skipped.reason.startswith("id: Enter Spotify's track id")
        assert not Song.objects.exists()

    @pytest.mark.parametrize("spotify_id", BAD_IDS)
    def test_the_admin_refuses_it(self, staff, spotify_id):
        song = the_admin_refuses(staff, "spotify_id", spotify_id)

        assert song.spotify_id != spotify_id

    def test_the_api_refuses_it(self, staff_client):
        song = the_api_refuses(staff_client, "spotify_id", "x?autoplay=1#frag")

        assert song.spotify_id != "x?autoplay=1#frag"

    def test_the_shipped_catalog_and_the_test_files_hold_only_spotify_ids(self):
        files = [SEED_SONGS, SEED_GENRES, *sorted(CATALOG_FIXTURES.glob("*.csv"))]
        for path in files:
            with open(path, encoding="utf-8-sig", newline="") as handle:
                ids = [line["id"] for line in csv.DictReader(handle) if line.get("id")]
            assert all(SPOTIFY_ID.match(spotify_id) for spotify_id in ids), path

    def test_the_shipped_catalog_imports_whole(self):
        report = songs_import(csv_file=SEED_SONGS, genres_file=SEED_GENRES)

        assert (report.created, report.skipped) == (686, [])


class TestHiddenCharacters:
    def test_the_import_takes_them_out_of_names_artists_and_albums(self):
        report = songs_import(
            csv_file=song_csv(row(name=f"Evil{HIDDEN}gnp.exe", album=f"\u202eAlbum{HIDDEN}", artist="Pr\u200bince"))
        )

        assert (report.created, report.skipped) == (1, [])
        song = Song.objects.get()
        assert (song.name, song.album, song.artist) == ("Evilgnp.exe", "Album", "Prince")

    @pytest.mark.parametrize("field", ["name", "album", "artist"])
    @pytest.mark.parametrize("character", list(HIDDEN))
    def test_the_admin_refuses_them(self, staff, field, character):
        song = the_admin_refuses(staff, field, f"Some{character}thing")

        assert character not in getattr(song, field)

    def test_the_api_refuses_them(self, staff_client):
        song = the_api_refuses(staff_client, "name", "Evil\u202egnp.exe")

        assert "\u202e" not in song.name

    def test_the_admin_import_page_takes_them_out_too(self, staff):
        upload = SimpleUploadedFile("songs.csv", song_csv(row(name="A\u2066B\u200dC")), content_type="text/csv")

        response = staff.post(reverse("admin:catalog_song_import"), {"csv_file": upload})

        assert response.status_code == 200
        assert Song.objects.get().name == "ABC"
