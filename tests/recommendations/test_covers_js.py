"""js/covers.js, the songs' covers, run in Node: drawn from the song's audio features, the same every time."""

from tests.recommendations.node_js import needs_node, run_module

pytestmark = needs_node

SAD_AND_STILL = {"valence": 0.05, "energy": 0.1, "tempo": 62, "danceability": 0.1}
HAPPY_AND_FAST = {"valence": 0.95, "energy": 0.9, "tempo": 190, "danceability": 0.9}


def run_node(expression: str, argument) -> object:
    return run_module("covers", expression, argument)


def designs(songs: list[dict]) -> list[dict]:
    return run_node("argument.map(covers.coverDesign)", songs)


def test_the_same_song_always_gets_the_same_cover():
    song = {"name": "Africa", "valence": 0.732, "energy": 0.373, "tempo": 92.717, "danceability": 0.671}

    first, again = run_node("argument.map(covers.coverColours)", [song, dict(song)])

    assert (
        first
        == again
        == {"from": "hsl(359.8, 53.7%, 43.3%)", "to": "hsl(56.6, 53.7%, 51.3%)", "stripe": "hsl(359.8, 43.7%, 71.3%)"}
    )


def test_the_hue_follows_the_valence_from_blue_to_orange():
    sad, middle, happy = designs([{"valence": 0}, {"valence": 0.5}, {"valence": 1}])

    assert (sad["hue"], middle["hue"], happy["hue"]) == (250, 325, 40)


def test_energy_saturates_and_deepens_the_colour():
    calm, energetic = designs([{"energy": 0}, {"energy": 1}])

    assert (calm["saturation"], calm["lightness"]) == (35, 50)
    assert (energetic["saturation"], energetic["lightness"]) == (85, 32)


def test_tempo_sets_the_stripes_and_danceability_their_slant():
    still, fast = designs([SAD_AND_STILL, HAPPY_AND_FAST])

    assert (still["stripes"], fast["stripes"]) == (2, 9)
    assert (still["slant"], fast["slant"]) == (5, 41)


def test_a_missing_or_out_of_range_feature_stays_in_range():
    blank, wild = designs([{"valence": None, "energy": "", "tempo": None}, {"valence": 7, "energy": -3, "tempo": 900}])

    assert blank == designs([{"valence": 0.5, "energy": 0.5, "tempo": 120, "danceability": 0.5}])[0]
    assert wild["hue"] == 40 and wild["saturation"] == 35 and wild["stripes"] == 9


def test_the_key_places_a_disc_on_the_circle_of_fifths_as_large_as_the_song_is_acoustic():
    c_major, g_major, electric, no_key = designs(
        [{"key": 0, "acousticness": 1}, {"key": 7, "acousticness": 1}, {"key": 0, "acousticness": 0}, {"key": -1}]
    )

    assert (c_major["disc"]["x"], c_major["disc"]["y"]) == (24, 11)  # C at the top
    assert g_major["disc"]["x"] > 24 and g_major["disc"]["y"] < 24  # G one step clockwise
    assert (c_major["disc"]["r"], electric["disc"]["r"]) == (12, 4)
    assert no_key["disc"] is None


def test_the_genre_picks_the_pattern_the_same_way_every_time():
    found = designs([{"genre": genre} for genre in ("pop", "rap", "rock", "latin", "r&b", "edm", "Pop ", "")])

    patterns = [design["pattern"] for design in found]
    assert patterns[:6] == ["stripes", "dots", "stripes", "rings", "rings", "dots"]  # each twice
    assert patterns[0] == patterns[6]  # case and spacing do not matter
    assert patterns[7] == "stripes"
