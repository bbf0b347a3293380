import csv
import gzip
import io
import re

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.models import Mood, Song
from catalog.selectors import EXPORT_COLUMNS
from tests.catalog.conftest import CATALOG_FIXTURES
from tests.factories import MoodFactory, SongFactory

IMPORT_URL = "admin:catalog_song_import"
CHANGELIST_URL = "admin:catalog_song_changelist"


def csv_fixture(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (CATALOG_FIXTURES / name).read_bytes(), content_type="text/csv")


class TestImportPage:
    def test_the_changelist_links_to_it(self, staff):
        response = staff.get(reverse(CHANGELIST_URL))

        assert response.status_code == 200
        assert reverse(IMPORT_URL) in response.content.decode()

    def test_staff_imports_and_sees_the_summary_and_each_skipped_line(self, staff):
        MoodFactory(name="Happy")

        response = staff.post(
            reverse(IMPORT_URL), {"csv_file": csv_fixture("bad_rows.csv"), "genres_file": csv_fixture("genres.csv")}
        )

        assert response.status_code == 200
        report = response.context["report"]
        assert (report.created, len(report.skipped)) == (4, 10)
        page = response.content.decode()
        assert "Import finished: 4 created, 0 updated, 0 unchanged, 10 skipped." in page
        assert "<td>14</td><td>loudness must be a number, not &#x27;loud&#x27;.</td>" in page
        assert Song.objects.count() == 4
        assert Song.objects.get(spotify_id="2H7PHVdQ3mXqEHXcvclTB0").genre == "funk"

    def test_a_gzip_compressed_tidytuesday_file_imports_its_tracks_once_and_names_its_broken_rows(
        self, staff, seeded_catalog
    ):
        data = gzip.compress((CATALOG_FIXTURES / "tidytuesday_songs.csv").read_bytes())
        upload = SimpleUploadedFile("spotify_songs.csv.gz", data, content_type="application/gzip")

        response = staff.post(reverse(IMPORT_URL), {"csv_file": upload})

        assert response.status_code == 200
        report = response.context["report"]
        # Heaven is one of the 686: updated, and keeps its label; the other four take their region's mood.
        assert (report.created, report.updated, report.repeated, len(report.skipped)) == (4, 1, 1, 3)
        page = response.content.decode()
        assert "Import finished: 4 created, 1 updated, 0 unchanged, 3 skipped." in page
        assert "<td>8</td><td>valence must be a number, not &#x27;high&#x27;.</td>" in page
        assert report.moods_filled == 4
        assert Song.objects.get(spotify_id="0r7CVbZTWZgbTCYdfa2P31").subgenre == "dance pop"
        heaven = Song.objects.get(spotify_id="4QAUGy6k7c3IOAhgWz52r7")
        assert (heaven.mood.name, heaven.mood_predicted, heaven.subgenre) == ("Happy", False, "dance pop")

    def test_the_import_fills_missing_moods_and_says_how_many(self, staff, seeded_catalog):
        header = (CATALOG_FIXTURES / "bad_rows.csv").read_text().splitlines()[0]
        quiet = (
            "Quiet Thing,Album,Someone New,0000000000000000quiet1,2020-01-01,10,200000,"
            "0.2,0.95,0.05,0.9,0.1,0.1,-25.0,0.04,70.0,5,4,,"
        )
        csv_file = SimpleUploadedFile("new.csv", f"{header}\n{quiet}\n".encode(), content_type="text/csv")

        response = staff.post(reverse(IMPORT_URL), {"csv_file": csv_file})

        assert response.status_code == 200
        assert response.context["report"].moods_filled == 1
        assert "1 created, 0 updated, 0 unchanged, 0 skipped. Filled the missing mood of 1 song with the " in (
            response.content.decode()
        )
        song = Song.objects.get(spotify_id="0000000000000000quiet1")
        assert (song.mood.name, song.mood_predicted) == ("Calm", True)

    def test_rows_the_csv_reader_cannot_read_are_listed_with_their_line(self, staff):
        MoodFactory(name="Happy")
        rows = (CATALOG_FIXTURES / "bad_rows.csv").read_text().splitlines()
        prince = rows[1]
        body = "\n".join(
            [
                rows[0],
                prince.replace("1999,1999,Prince", "19\x0099,1999,Prince"),
                prince.replace("1999,1999,Prince", "1999," + "x" * 140_000 + ",Prince"),
                prince,
                prince.replace("2H7PHVdQ3mXqEHXcvclTB0", "opened0000000000000001").replace("1999,1999", '"1999,1999'),
                prince,
            ]
        )
        csv_file = SimpleUploadedFile("broken.csv", body.encode(), content_type="text/csv")

        response = staff.post(reverse(IMPORT_URL), {"csv_file": csv_file})

        assert response.status_code == 200
        report = response.context["report"]
        assert report.created == 1
        assert [row.line for row in report.skipped] == [2, 3, 5]
        page = response.content.decode()
        assert "1 created, 0 updated, 0 unchanged, 3 skipped." in page
        assert "<td>2</td><td>It holds a NUL character" in page
        assert "<td>3</td><td>A cell is longer than 128 KiB" in page
        assert "<td>5</td><td>A quote opened on line 5 is never closed" in page
        assert list(Song.objects.values_list("spotify_id", flat=True)) == ["2H7PHVdQ3mXqEHXcvclTB0"]

    def test_a_file_missing_a_column_shows_the_error_and_imports_nothing(self, staff):
        response = staff.post(reverse(IMPORT_URL), {"csv_file": csv_fixture("missing_column.csv")})

        assert response.status_code == 200
        assert response.context["report"] is None
        assert "lacks the column tempo" in response.content.decode()
        assert not Song.objects.exists()

    def test_no_file_is_a_form_error(self, staff):
        response = staff.post(reverse(IMPORT_URL), {})

        assert response.status_code == 200
        assert response.context["form"].errors["csv_file"]

    def test_a_non_staff_user_is_sent_to_the_admin_login(self, client, user):
        client.force_login(user)

        response = client.post(reverse(IMPORT_URL), {"csv_file": csv_fixture("bad_rows.csv")})

        assert response.status_code == 302
        assert reverse("admin:login") in response["Location"]
        assert not Song.objects.exists()

    def test_anonymous_is_sent_to_the_admin_login(self, client, db):
        response = client.get(reverse(IMPORT_URL))

        assert response.status_code == 302
        assert reverse("admin:login") in response["Location"]

    def test_csrf_is_enforced(self, staff_user):
        from django.test import Client

        client = Client(enforce_csrf_checks=True)
        client.force_login(staff_user)

        response = client.post(reverse(IMPORT_URL), {"csv_file": csv_fixture("bad_rows.csv")})

        assert response.status_code == 403
        assert not Song.objects.exists()


class TestSongChangelist:
    def test_search_and_filters_work(self, staff):
        calm = MoodFactory(name="Calm")
        old = SongFactory(name="Old Calm", release_year=1975, mood=calm, genre="folk")
        SongFactory(name="New Calm", release_year=2015, mood=calm, genre="folk")
        SongFactory(name="Old Other", release_year=1971, mood=MoodFactory(name="Happy"), genre="rock")

        response = staff.get(reverse(CHANGELIST_URL), {"decade": "1970", "mood__id__exact": calm.pk, "genre": "folk"})
        searched = staff.get(reverse(CHANGELIST_URL), {"q": "other"})

        assert response.status_code == 200
        assert list(response.context["cl"].result_list) == [old]
        assert [song.name for song in searched.context["cl"].result_list] == ["Old Other"]

    def test_audio_feature_columns_sort(self, staff):
        low, high, middle = SongFactory(energy=0.1), SongFactory(energy=0.9), SongFactory(energy=0.5)
        columns = staff.get(reverse(CHANGELIST_URL)).context["cl"].list_display

        response = staff.get(reverse(CHANGELIST_URL), {"o": f"-{columns.index('energy')}"})

        assert list(response.context["cl"].result_list) == [high, middle, low]

    def test_decade_filter_lists_the_decades_present(self, staff):
        SongFactory(release_year=1982)
        SongFactory(release_year=2003)

        response = staff.get(reverse(CHANGELIST_URL))

        page = response.content.decode()
        assert "1980s" in page
        assert "2000s" in page
        assert "1990s" not in page

    def test_the_change_form_saves_through_the_service(self, staff):
        song = SongFactory(release_date="1999-01-01", release_year=1999)
        form = staff.get(reverse("admin:catalog_song_change", args=[song.pk])).context["adminform"].form
        data = {name: form[name].value() for name in form.fields}
        data.update({"release_date": "1966-03", "mood": "", "danceability": "0.25"})

        response = staff.post(reverse("admin:catalog_song_change", args=[song.pk]), data)

        assert response.status_code == 302
        song.refresh_from_db()
        assert (song.release_date, song.release_year, song.danceability) == ("1966-03", 1966, 0.25)

    def test_the_change_form_takes_an_unknown_time_signature_and_a_subgenre(self, staff):
        song = SongFactory(time_signature=4)
        form = staff.get(reverse("admin:catalog_song_change", args=[song.pk])).context["adminform"].form
        data = {name: form[name].value() for name in form.fields}
        data.update({"time_signature": "", "subgenre": "dance pop", "mood": ""})

        response = staff.post(reverse("admin:catalog_song_change", args=[song.pk]), data)

        assert response.status_code == 302
        song.refresh_from_db()
        assert (song.time_signature, song.subgenre) == (None, "dance pop")

    def test_the_change_form_refuses_values_the_importer_refuses(self, staff):
        song = SongFactory(tempo=120.0)
        form = staff.get(reverse("admin:catalog_song_change", args=[song.pk])).context["adminform"].form
        data = {name: form[name].value() for name in form.fields}
        data.update({"tempo": "0", "release_date": "1999-99", "mood": ""})

        response = staff.post(reverse("admin:catalog_song_change", args=[song.pk]), data)

        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert set(errors) >= {"tempo", "release_date"}
        song.refresh_from_db()
        assert song.tempo == 120.0


class TestActions:
    def test_set_mood_shows_an_intermediate_page_then_sets_it(self, staff):
        happy, sad = MoodFactory(name="Happy"), MoodFactory(name="Sad")
        chosen = [SongFactory(mood=happy, mood_predicted=True), SongFactory(mood=None)]
        other = SongFactory(mood=happy)
        selected = [str(song.pk) for song in chosen]

        confirm = staff.post(reverse(CHANGELIST_URL), {"action": "set_mood", ACTION_CHECKBOX_NAME: selected})

        assert confirm.status_code == 200
        assert "Set the mood of the selected songs" in confirm.content.decode()
        assert set(confirm.context["songs"]) == set(chosen)
        assert Song.objects.filter(mood=sad).count() == 0

        applied = staff.post(
            reverse(CHANGELIST_URL),
            {"action": "set_mood", ACTION_CHECKBOX_NAME: selected, "mood": sad.pk, "apply": "Set the mood"},
        )

        assert applied.status_code == 302
        assert set(Song.objects.filter(mood=sad, mood_predicted=False)) == set(chosen)
        other.refresh_from_db()
        assert other.mood == happy

    def test_set_mood_with_an_unknown_mood_shows_the_form_again(self, staff):
        song = SongFactory(mood=MoodFactory(name="Happy"))

        response = staff.post(
            reverse(CHANGELIST_URL),
            {"action": "set_mood", ACTION_CHECKBOX_NAME: [song.pk], "mood": 999999, "apply": "Set the mood"},
        )

        assert response.status_code == 200
        assert response.context["form"].errors["mood"]
        song.refresh_from_db()
        assert song.mood.name == "Happy"

    def test_export_csv_gives_the_kaggle_columns_of_the_selected_songs(self, staff):
        happy = MoodFactory(name="Happy")
        chosen = SongFactory(name="Chosen", spotify_id="chosen0000000000000001", length_ms=1234, mood=happy)
        SongFactory(name="Not chosen")

        response = staff.post(reverse(CHANGELIST_URL), {"action": "export_csv", ACTION_CHECKBOX_NAME: [chosen.pk]})

        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert "attachment" in response["Content-Disposition"]
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        assert tuple(rows[0]) == EXPORT_COLUMNS
        assert [(row["name"], row["id"], row["length"], row["mood"]) for row in rows] == [
            ("Chosen", "chosen0000000000000001", "1234", "Happy")
        ]


class TestMoodAdmin:
    def test_lists_moods_with_song_counts(self, staff):
        happy = MoodFactory(name="Happy")
        SongFactory.create_batch(3, mood=happy)

        response = staff.get(reverse("admin:catalog_mood_changelist"))

        assert response.status_code == 200
        counts = {mood.name: mood.song_count for mood in response.context["cl"].result_list}
        assert counts["Happy"] == 3

    def test_staff_adds_a_mood(self, staff):
        response = staff.post(
            reverse("admin:catalog_mood_add"), {"name": "Dreamy", "description": "Hazy, floating songs."}
        )

        assert response.status_code == 302
        assert Mood.objects.get(name="Dreamy").description == "Hazy, floating songs."

    def test_a_mood_name_differing_only_in_case_is_refused(self, staff):
        MoodFactory(name="Happy")

        response = staff.post(reverse("admin:catalog_mood_add"), {"name": "HAPPY", "description": ""})

        assert response.status_code == 200
        assert "That mood already exists." in response.content.decode()
        assert Mood.objects.filter(name__iexact="happy").count() == 1


def test_an_oversized_upload_is_refused(staff, monkeypatch):
    monkeypatch.setattr("catalog.admin.MAX_IMPORT_BYTES", 100)

    response = staff.post(reverse(IMPORT_URL), {"csv_file": csv_fixture("bad_rows.csv")})

    assert response.status_code == 200
    assert "larger than" in str(response.context["form"].errors["csv_file"])
    assert not Song.objects.exists()


class TestSongForm:
    def test_the_audio_features_come_in_fieldsets_with_their_ranges(self, staff):
        song = SongFactory()

        response = staff.get(reverse("admin:catalog_song_change", args=[song.pk]))

        assert response.status_code == 200
        page = response.content.decode()
        assert "How it feels (Spotify&#x27;s audio features, 0 to 1)" in page
        assert "Tempo, loudness and key" in page
        assert "0 to 1: how positive it sounds" in page
        assert re.search(r'<input type="number" name="valence"[^>]*min="0"', page)
        assert re.search(r'<input type="number" name="key"[^>]*max="11"', page)

    def test_the_list_shows_the_useful_columns(self, staff):
        SongFactory()

        columns = staff.get(reverse(CHANGELIST_URL)).context["cl"].list_display

        assert list(columns) == [
            "action_checkbox",
            "name",
            "artist",
            "mood",
            "genre",
            "release_year",
            "popularity",
            "energy",
            "valence",
        ]
