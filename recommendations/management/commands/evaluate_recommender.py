import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.management.commands.seed_catalog import SEED_GENRES, SEED_SONGS
from catalog.models import Mood, Song
from recommendations import evaluation
from recommendations.catalog_cache import current_catalog
from recommendations.engine import build_catalog
from recommendations.selectors import mood_mix_for


class Command(BaseCommand):
    help = (
        "Simulate listeners with hidden tastes who rate what they are shown, and report the mean rating of the "
        "songs they had not rated yet after 0, 10, 20 and 40 ratings, against the non-personalized ranking. "
        "Writes reports/recommender_evaluation.md and .json."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=100, help="simulated users (default 100)")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--strategy", choices=["match", "uplift", "calm"], default="match")
        parser.add_argument(
            "--catalog",
            choices=["auto", "database", "seed"],
            default="auto",
            help="the songs in the database, or the bundled seed CSV (auto: the database when it has songs)",
        )
        parser.add_argument("--output", type=Path, default=Path(settings.BASE_DIR) / "reports")

    def handle(self, *args, users: int, seed: int, strategy: str, catalog: str, output: Path, **options) -> None:
        if users < 1:
            raise CommandError("--users must be at least 1.")
        mood_ids = {mood.name.lower(): mood.pk for mood in Mood.objects.all()}
        labelled_matrix = build_catalog(evaluation.seed_catalog_rows(SEED_SONGS, SEED_GENRES, mood_ids))
        labelled_source = "the labelled songs alone, catalog/seed/data_moods.csv"
        if catalog == "database" or (catalog == "auto" and Song.objects.exists()):
            matrix, source = current_catalog(), "the catalog in the database"
        else:
            matrix, source = labelled_matrix, "the bundled seed catalog, catalog/seed/data_moods.csv"
        if matrix.size < 100:
            raise CommandError(f"The catalog has {matrix.size} songs; the evaluation needs at least 100.")

        mixes, targets = {}, {}
        for emotion in evaluation.EMOTIONS:
            mix = mood_mix_for(emotion=emotion, strategy=strategy)
            mixes[emotion] = (mix.weights, mix.mood.pk if mix.mood else None, mix.mood.name if mix.mood else None)
            targets[emotion] = mix.target

        def progress(done: int) -> None:
            if done % 10 == 0 or done == users:
                self.stdout.write(f"  {done}/{users} users")

        common = {"mood_weights_for": mixes.__getitem__, "users": users, "seed": seed, "strategy": strategy}
        report = evaluation.evaluate(matrix, **common, catalog_source=source, progress=progress, targets=targets)
        data = report.as_dict()
        labelled = None
        if matrix is not labelled_matrix:
            # The same listeners on the labelled songs alone, so that the report shows both catalogs side by side.
            self.stdout.write(f"The {labelled_matrix.size} labelled songs alone:")
            labelled = evaluation.evaluate(
                labelled_matrix, **common, catalog_source=labelled_source, progress=progress, targets=targets
            )
            data["labelled_songs"] = labelled.as_dict()
        text = evaluation.markdown(report, labelled)
        output.mkdir(parents=True, exist_ok=True)
        (output / "recommender_evaluation.md").write_text(text, encoding="utf-8")
        (output / "recommender_evaluation.json").write_text(json.dumps(data, indent=2) + "\n")
        self.stdout.write(text)
        self.stdout.write(self.style.SUCCESS(f"Wrote {output / 'recommender_evaluation.md'} and .json"))
