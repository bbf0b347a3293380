from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from catalog.management.commands.import_songs import write_report
from catalog.models import Song
from catalog.services import songs_import

SEED_DIR = Path(__file__).resolve().parents[2] / "seed"
SEED_SONGS = SEED_DIR / "data_moods.csv"
SEED_GENRES = SEED_DIR / "track_genres.csv"


class Command(BaseCommand):
    help = "Load the bundled song catalog (catalog/seed/) when the catalog is empty; otherwise do nothing."

    def handle(self, *args, **options) -> None:
        count = Song.objects.count()
        if count:
            self.stdout.write(f"The catalog already has {count} song{'s' if count != 1 else ''}; not seeding it.")
            return
        try:
            report = songs_import(csv_file=SEED_SONGS, genres_file=SEED_GENRES)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        write_report(self, report)
        if not report.imported:
            raise CommandError(f"No song in {SEED_SONGS} could be imported.")
