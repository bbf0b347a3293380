from pathlib import Path

from django.core.management.base import BaseCommand

from catalog.management.commands.import_songs import import_and_report
from catalog.models import Song

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
        import_and_report(self, csv_file=SEED_SONGS, genres_file=SEED_GENRES)
