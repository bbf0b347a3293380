import pytest

from catalog.models import Song
from tests.conftest import SONG_FIELDS
from tests.factories import MoodFactory, SongFactory


def new_song(**changes) -> dict:
    data = {
        "spotify_id": "4uLU6hMCjMI75M1A2tKUQC",
        "name": "Never Gonna Give You Up",
        "album": "Whenever You Need Somebody",
        "artist": "Rick Astley",
        "release_date": "1987-11-12",
        "popularity": 80,
        "length_ms": 213_573,
        "danceability": 0.727,
        "acousticness": 0.14,
        "energy": 0.939,
        "instrumentalness": 0.0,
        "liveness": 0.151,
        "valence": 0.916,
        "loudness": -11.855,
        "speechiness": 0.0369,
        "tempo": 113.33,
        "key": 8,
        "time_signature": 4,
        "mood": "happy",
        "genre": "dance pop",
    }
    return {**data, **changes}


class TestReadingTheSeedCatalog:
    def test_list_search_mood_and_pages(self, api_client, seeded_catalog):
        everything = api_client.get("/api/songs/")
        prince = api_client.get("/api/songs/", {"search": "prince"})
        calm = api_client.get("/api/songs/", {"mood": "Calm"})
        calm_lower = api_client.get("/api/songs/", {"mood": "calm", "page": 2})

        assert everything.status_code == 200
        body = everything.json()
        assert set(body) == {"count", "next", "previous", "results"}
        assert body["count"] == 686
        assert len(body["results"]) == 20
        assert body["previous"] is None
        assert "page=2" in body["next"]

        assert prince.status_code == 200
        assert "1999" in [song["name"] for song in prince.json()["results"]]
        assert all(
            "prince" in (song["artist"] + song["name"] + song["album"]).lower() for song in prince.json()["results"]
        )

        assert calm.json()["count"] == 195
        assert calm_lower.status_code == 200
        assert calm_lower.json()["count"] == 195
        assert {song["mood"] for song in calm_lower.json()["results"]} == {"Calm"}
        assert calm_lower.json()["previous"] is not None


class TestReading:
    def test_song_json_has_exactly_the_contract_fields(self, api_client, db):
        song = SongFactory(spotify_id="2H7PHVdQ3mXqEHXcvclTB0", mood=MoodFactory(name="Happy"), genre="funk")

        response = api_client.get(f"/api/songs/{song.pk}/")

        assert response.status_code == 200
        body = response.json()
        assert set(body) == SONG_FIELDS
        assert body["id"] == song.pk
        assert body["mood"] == "Happy"
        assert body["genre"] == "funk"
        assert body["spotify_url"] == "https://open.spotify.com/track/2H7PHVdQ3mXqEHXcvclTB0"
        assert body["length_ms"] == song.length_ms

    def test_a_song_without_mood_says_null(self, api_client, db):
        song = SongFactory(mood=None)

        assert api_client.get(f"/api/songs/{song.pk}/").json()["mood"] is None

    def test_unknown_or_malformed_ids_are_404(self, api_client, db):
        assert api_client.get("/api/songs/999999/").status_code == 404
        assert api_client.get("/api/songs/abc/").status_code == 404
        assert api_client.get("/api/songs/99999999999999999999999/").status_code == 404

    def test_a_page_past_the_end_is_404_not_500(self, api_client, db):
        SongFactory()

        assert api_client.get("/api/songs/", {"page": 5}).status_code == 404
        assert api_client.get("/api/songs/", {"page": "x"}).status_code == 404

    def test_an_unknown_mood_gives_an_empty_page(self, api_client, db):
        SongFactory()

        response = api_client.get("/api/songs/", {"mood": "Nope"})

        assert response.status_code == 200
        assert response.json()["count"] == 0

    def test_anonymous_gets_401(self, anon_client, db):
        song = SongFactory()

        assert anon_client.get("/api/songs/").status_code == 401
        assert anon_client.get(f"/api/songs/{song.pk}/").status_code == 401


class TestWriting:
    def test_staff_creates_a_song(self, staff_client, db):
        happy = MoodFactory(name="Happy")

        response = staff_client.post("/api/songs/", new_song(), format="json")

        assert response.status_code == 201
        body = response.json()
        assert set(body) == SONG_FIELDS
        assert body["mood"] == "Happy"
        song = Song.objects.get(pk=body["id"])
        assert (song.name, song.mood, song.release_year) == ("Never Gonna Give You Up", happy, 1987)

    def test_staff_updates_a_song(self, staff_client, db):
        MoodFactory(name="Sad")
        song = SongFactory(name="Old name")

        response = staff_client.patch(f"/api/songs/{song.pk}/", {"name": "New name", "mood": "Sad"}, format="json")

        assert response.status_code == 200
        assert response.json()["name"] == "New name"
        assert response.json()["mood"] == "Sad"
        song.refresh_from_db()
        assert (song.name, song.mood.name) == ("New name", "Sad")

    def test_a_song_without_a_time_signature_has_it_unknown_and_keeps_its_subgenre(self, staff_client, db):
        data = {name: value for name, value in new_song().items() if name != "time_signature"}

        response = staff_client.post("/api/songs/", data | {"genre": "pop", "subgenre": "dance pop"}, format="json")

        assert response.status_code == 201
        body = response.json()
        assert (body["time_signature"], body["genre"], body["subgenre"]) == (None, "pop", "dance pop")
        song = Song.objects.get(spotify_id=data["spotify_id"])
        assert (song.time_signature, song.subgenre) == (None, "dance pop")

    def test_a_time_signature_out_of_range_is_a_400_with_a_sentence(self, staff_client, db):
        response = staff_client.post("/api/songs/", new_song(time_signature=9), format="json")

        assert response.status_code == 400
        assert "time_signature" in response.json()
        assert not Song.objects.exists()

    def test_staff_replaces_a_song_with_put(self, staff_client, db):
        MoodFactory(name="Happy")
        song = SongFactory()

        response = staff_client.put(f"/api/songs/{song.pk}/", new_song(), format="json")

        assert response.status_code == 200
        song.refresh_from_db()
        assert song.spotify_id == "4uLU6hMCjMI75M1A2tKUQC"

    def test_staff_deletes_a_song(self, staff_client, db):
        song = SongFactory()

        response = staff_client.delete(f"/api/songs/{song.pk}/")

        assert response.status_code == 204
        assert not Song.objects.filter(pk=song.pk).exists()

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"danceability": 1.5}, "danceability"),
            ({"valence": -0.1}, "valence"),
            ({"tempo": 0}, "tempo"),
            ({"key": 12}, "key"),
            ({"time_signature": 0}, "time_signature"),
            ({"popularity": 101}, "popularity"),
            ({"length_ms": -1}, "length_ms"),
            ({"release_date": "1987/11/12"}, "release_date"),
            ({"loudness": "loud"}, "loudness"),
            ({"mood": "Nonexistent"}, "mood"),
            ({"spotify_id": ""}, "spotify_id"),
        ],
    )
    def test_invalid_values_are_400_and_nothing_is_saved(self, staff_client, db, changes, field):
        MoodFactory(name="Happy")

        response = staff_client.post("/api/songs/", new_song(**changes), format="json")

        assert response.status_code == 400
        assert field in response.json()
        assert not Song.objects.exists()

    def test_a_taken_spotify_id_is_400(self, staff_client, db):
        MoodFactory(name="Happy")
        SongFactory(spotify_id="4uLU6hMCjMI75M1A2tKUQC")

        response = staff_client.post("/api/songs/", new_song(), format="json")

        assert response.status_code == 400
        assert "spotify_id" in response.json()
        assert Song.objects.count() == 1

    def test_an_invalid_patch_leaves_the_song_unchanged(self, staff_client, db):
        song = SongFactory(tempo=120.0)

        response = staff_client.patch(f"/api/songs/{song.pk}/", {"tempo": -3}, format="json")

        assert response.status_code == 400
        assert "tempo" in response.json()
        song.refresh_from_db()
        assert song.tempo == 120.0

    def test_a_body_that_is_not_an_object_is_400(self, staff_client, db):
        response = staff_client.post("/api/songs/", [1, 2], format="json")

        assert response.status_code == 400

    def test_a_normal_user_gets_403_and_nothing_changes(self, api_client, db):
        MoodFactory(name="Happy")
        song = SongFactory(name="Keep me")

        created = api_client.post("/api/songs/", new_song(), format="json")
        patched = api_client.patch(f"/api/songs/{song.pk}/", {"name": "Changed"}, format="json")
        deleted = api_client.delete(f"/api/songs/{song.pk}/")

        assert (created.status_code, patched.status_code, deleted.status_code) == (403, 403, 403)
        assert list(Song.objects.values_list("name", flat=True)) == ["Keep me"]

    def test_anonymous_gets_401_and_nothing_changes(self, anon_client, db):
        song = SongFactory(name="Keep me")

        assert anon_client.post("/api/songs/", new_song(), format="json").status_code == 401
        assert anon_client.patch(f"/api/songs/{song.pk}/", {"name": "x"}, format="json").status_code == 401
        assert anon_client.delete(f"/api/songs/{song.pk}/").status_code == 401
        assert list(Song.objects.values_list("name", flat=True)) == ["Keep me"]
