from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.services import ImportReport, songs_import


def write_report(command: BaseCommand, report: ImportReport) -> None:
    for skipped in report.skipped:
        command.stderr.write(f"Skipped {skipped}")
    style = command.style.SUCCESS if report.imported else command.style.ERROR
    command.stdout.write(style(report.summary()))


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
        try:
            report = songs_import(csv_file=path, genres_file=genres)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        write_report(self, report)
        if not report.imported:
            raise CommandError(f"No song in {path} could be imported.")
