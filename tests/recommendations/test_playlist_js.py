"""js/playlist.js, the browser's playlist files, run in Node: the server's CSV rule, and M3U fields on one line."""

from catalog.spreadsheet import escape_cell
from tests.recommendations.node_js import needs_node, run_module

pytestmark = needs_node

CELLS = [
    "=1+1",
    "+1",
    "-1",
    "@SUM(A1)",
    "\t=cmd",
    "\r=cmd",
    "'=already escaped",
    "''+twice",
    "plain",
    "",
    " =space first",
    "'quoted",
    "a\tb",
    "Don't Stop Me Now",
]


def run_node(expression: str, argument) -> object:
    return run_module("playlist", expression, argument)


def test_a_csv_cell_is_escaped_by_the_servers_rule():
    assert run_node("argument.map(playlist.spreadsheetSafe)", CELLS) == [escape_cell(cell) for cell in CELLS]


def test_the_csv_text_quotes_what_csv_needs():
    text = run_node("playlist.csvText(argument)", [["name", "artist"], ['A, "B"\nC', "\t=cmd"]])

    assert text == 'name,artist\r\n"A, ""B""\nC",\'\t=cmd\r\n'


def test_each_m3u_field_stays_on_its_line():
    songs = [
        {
            "name": "Song\n#EXTINF:1,Elsewhere\r\nhttps://evil.example/a.mp3",
            "artist": "Art\u2028ist",
            "length_ms": 61_400,
            "spotify_url": "https://open.spotify.com/track/2H7PHVdQ3mXqEHXcvclTB0\n#EXTINF:2,x",
        },
        {"name": "Plain", "artist": "", "length_ms": None, "spotify_url": "https://open.spotify.com/track/x"},
    ]

    text = run_node("playlist.m3uText('EmoMusic sad\\nsongs', argument)", songs)

    assert text.split("\n") == [
        "#EXTM3U",
        "#PLAYLIST:EmoMusic sad songs",
        "#EXTINF:61,Art ist - Song #EXTINF:1,Elsewhere https://evil.example/a.mp3",
        "https://open.spotify.com/track/2H7PHVdQ3mXqEHXcvclTB0 #EXTINF:2,x",
        "#EXTINF:0,unknown artist - Plain",
        "https://open.spotify.com/track/x",
        "",
    ]
