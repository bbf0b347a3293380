import pytest

from catalog.spreadsheet import escape_cell, unescape_cell


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1 (Remix)", "'+1 (Remix)"),
        ("-5 Minutes", "'-5 Minutes"),
        ("@home", "'@home"),
        ("\tTabbed", "'\tTabbed"),
        ("'=already escaped by someone", "''=already escaped by someone"),
        ("Rock 'n' Roll", "Rock 'n' Roll"),
        ("'Til Tuesday", "'Til Tuesday"),
        ("", ""),
    ],
)
def test_formulas_are_escaped_and_every_value_comes_back_unchanged(value, escaped):
    assert escape_cell(value) == escaped
    assert unescape_cell(escaped) == value
