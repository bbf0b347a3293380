from django.urls import reverse

from tests.factories import MoodFactory, SongFactory


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("catalog"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_lists_songs_with_a_spotify_link(logged_in):
    song = SongFactory(name="Purple Rain", artist="Prince", spotify_id="54X78diSLoUDI3joC2bjMz")

    response = logged_in.get(reverse("catalog"))

    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [song]
    assert "Purple Rain" in response.content.decode()
    assert "https://open.spotify.com/track/54X78diSLoUDI3joC2bjMz" in response.content.decode()


def test_search_and_mood_filter(logged_in):
    calm = MoodFactory(name="Calm")
    wanted = SongFactory(name="Rain", mood=calm)
    SongFactory(name="Rain", mood=MoodFactory(name="Happy"))
    SongFactory(name="Sun", mood=calm)

    response = logged_in.get(reverse("catalog"), {"search": "rain", "mood": "calm"})

    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [wanted]
    assert "1 song matching" in response.content.decode()


def test_pages_keep_the_search(logged_in):
    SongFactory.create_batch(30, album="Greatest Hits")

    first = logged_in.get(reverse("catalog"), {"search": "greatest"})
    second = logged_in.get(reverse("catalog"), {"search": "greatest", "page": 2})

    assert len(first.context["page"].object_list) == 25
    assert "search=greatest&amp;page=2" in first.content.decode()
    assert len(second.context["page"].object_list) == 5


def test_a_bad_page_number_shows_a_real_page(logged_in):
    SongFactory()

    for page in ("abc", "999", "-1"):
        response = logged_in.get(reverse("catalog"), {"page": page})
        assert response.status_code == 200
        assert len(response.context["page"].object_list) == 1


def test_no_match_says_so(logged_in):
    SongFactory(name="Something")

    response = logged_in.get(reverse("catalog"), {"search": "zzz"})

    assert response.status_code == 200
    assert "No song matches" in response.content.decode()
