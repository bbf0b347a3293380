from pathlib import Path

from django.core.management.base import BaseCommand

from catalog.management.commands.import_songs import import_and_report
from catalog.models import Song

SEED_DIR = Path(__file__).resolve().parents[2] / "seed"
SEED_SONGS = SEED_DIR / "data_moods.csv"
SEED_GENRES = SEED_DIR / "track_genres.csv"
SEED_SONGS_28K = SEED_DIR / "spotify_songs_28k.csv.gz"
# The default catalog, imported in this order: the 28,000 songs of TidyTuesday's playlists, then the 686
# labelled ones. The later import updates the 108 songs both hold, so the labelled file's row, mood and
# genre win there; its moods then give every unlabelled song its region's mood (catalog.mood_regions).
SEED_FILES: tuple[tuple[Path, Path | None], ...] = ((SEED_SONGS_28K, None), (SEED_SONGS, SEED_GENRES))


class Command(BaseCommand):
    help = (
        "Load the bundled song catalog (catalog/seed/: 28,000 songs from TidyTuesday's Spotify playlists and the "
        "686 mood-labelled songs) when the catalog is empty; otherwise do nothing."
    )

    def handle(self, *args, **options) -> None:
        count = Song.objects.count()
        if count:
            self.stdout.write(f"The catalog already has {count} song{'s' if count != 1 else ''}; not seeding it.")
            return
        for number, (songs, genres) in enumerate(SEED_FILES, start=1):
            self.stdout.write(f"{songs.name}:")
            # The moods are filled once, after the last file: the labelled songs come last.
            import_and_report(self, csv_file=songs, genres_file=genres, fill_moods=number == len(SEED_FILES))
