from django.core.management.base import BaseCommand, CommandParser

from catalog.services import moods_fill_missing


class Command(BaseCommand):
    help = (
        "Give the songs without a mood their region's mood on the mood map (the nearest mood centroid on "
        "valence x energy, each centroid the mean of the songs labelled with that mood), marked as predicted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--refresh",
            action="store_true",
            help="also redo the moods predicted earlier (after labelling songs, which moves the centroids)",
        )

    def handle(self, *args, refresh: bool, **options) -> None:
        filled = moods_fill_missing(refresh=refresh)
        if filled is None:
            self.stdout.write("Nothing to do: the mood regions need songs labelled with at least two moods.")
            return
        text = f"Gave {filled.filled} song{'s' if filled.filled != 1 else ''} without a mood their region's mood."
        if refresh:
            text += f" {filled.moved} predicted mood{'s' if filled.moved != 1 else ''} changed."
        self.stdout.write(self.style.SUCCESS(text))
