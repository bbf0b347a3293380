from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.services import songs_import


def import_and_report(
    command: BaseCommand, *, csv_file: Path, genres_file: Path | None, fill_moods: bool = True
) -> None:
    """Import the songs CSV, listing the skipped rows on stderr and the summary on stdout; a file that
    cannot be read, or of which no song could be imported, is a CommandError."""
    try:
        report = songs_import(csv_file=csv_file, genres_file=genres_file, fill_moods=fill_moods)
    except ValidationError as error:
        raise CommandError(" ".join(error.messages)) from error
    for skipped in report.skipped:
        command.stderr.write(f"Skipped {skipped}")
    style = command.style.SUCCESS if report.imported else command.style.ERROR
    command.stdout.write(style(report.summary()))
    if not report.imported:
        raise CommandError(f"No song in {csv_file} could be imported.")


class Command(BaseCommand):
    help = (
        "Import songs from a CSV (gzip-compressed or not) in the Kaggle 'Spotify music data to identify the moods' "
        "layout or TidyTuesday's 'Spotify songs' layout, told from its header, updating the songs already in the "
        "catalog (matched by Spotify id). Bad rows are skipped and listed by line number; a track repeated across "
        "playlists keeps its first row; the moods still missing are filled from the mood map's regions."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the songs CSV (data_moods.csv, spotify_songs.csv, .gz too)")
        parser.add_argument("--genres", type=Path, help="an optional CSV with the columns id, genre")

    def handle(self, *args, path: Path, genres: Path | None, **options) -> None:
        import_and_report(self, csv_file=path, genres_file=genres)
