"""Spreadsheet-safe CSV cells (OWASP "CSV injection").

A cell that begins with =, +, -, @, a tab or a carriage return is a formula
to Excel, LibreOffice and Google Sheets: a song called `=HYPERLINK(...)`
would run when an admin opens the export. The export prefixes such text with
an apostrophe, which spreadsheets show as plain text; the importer removes
exactly that apostrophe, so an export re-imports unchanged.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _looks_like_formula_after_apostrophes(value: str) -> bool:
    return value.lstrip("'").startswith(FORMULA_STARTS)


def escape_cell(value: str) -> str:
    """One more leading apostrophe for text a spreadsheet would read as a formula (or that is one escaped)."""
    return "'" + value if _looks_like_formula_after_apostrophes(value) else value


def unescape_cell(value: str) -> str:
    """The inverse of `escape_cell`: drop the apostrophe it added, leave every other value alone."""
    if value.startswith("'") and _looks_like_formula_after_apostrophes(value):
        return value[1:]
    return value
