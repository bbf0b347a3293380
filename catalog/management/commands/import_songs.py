from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.services import songs_import


def import_and_report(command: BaseCommand, *, csv_file: Path, genres_file: Path | None) -> None:
    """Import the songs CSV, listing the skipped rows on stderr and the summary on stdout; a file that
    cannot be read, or of which no song could be imported, is a CommandError."""
    try:
        report = songs_import(csv_file=csv_file, genres_file=genres_file)
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
        "Import songs from a CSV in the Kaggle 'Spotify music data to identify the moods' format, "
        "updating the songs already in the catalog (matched by Spotify id). Bad rows are skipped "
        "and listed by line number; the moods still missing are filled by the mood classifier."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the songs CSV (data_moods.csv)")
        parser.add_argument("--genres", type=Path, help="an optional CSV with the columns id, genre")

    def handle(self, *args, path: Path, genres: Path | None, **options) -> None:
        import_and_report(self, csv_file=path, genres_file=genres)
