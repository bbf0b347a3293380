"""reports/catalog.md: the default catalog, and how often the mood map's regions give a song its labelled mood."""

from collections import Counter
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from catalog import csv_import, mood_classifier
from catalog.csv_import import SongRow
from catalog.management.commands.seed_catalog import SEED_SONGS, SEED_SONGS_28K
from catalog.mood_regions import (
    PLANE_FEATURES,
    RegionRule,
    agreement,
    cross_validated_agreement,
    held_out_predictions,
)
from catalog.schema import MOOD_CLASSIFIER_FEATURES
from catalog.services import song_row_problems

FOLDS = 5
SEEDS = tuple(range(10))  # shuffles of the folds: one split's figure moves by a point or two


def first_rows(path: Path) -> tuple[list[SongRow], int]:
    """The rows the importer takes (valid, the first of each Spotify id); and how many rows the file holds."""
    songs_file = csv_import.songs_read(path)
    kept: dict[str, SongRow] = {}
    total = 0
    for row in songs_file.rows:
        total += 1
        if row.spotify_id not in kept and not song_row_problems(row=row, layout=songs_file.layout):
            kept[row.spotify_id] = row
    return list(kept.values()), total


def plane_of(rows: list[SongRow]) -> np.ndarray:
    return np.array([[row.values[name] for name in PLANE_FEATURES] for row in rows], dtype=np.float64).reshape(-1, 2)


def percent(value: float) -> str:
    return f"{value:.1%}"


def catalog_report() -> str:
    labelled, labelled_rows = first_rows(SEED_SONGS)
    moods = [row.mood for row in labelled]
    playlists, playlist_rows = first_rows(SEED_SONGS_28K)
    labelled_ids = {row.spotify_id for row in labelled}
    shared = [row for row in playlists if row.spotify_id in labelled_ids]
    unlabelled = [row for row in playlists if row.spotify_id not in labelled_ids]
    label_of = {row.spotify_id: row.mood for row in labelled}

    plane = plane_of(labelled)
    rule = RegionRule.from_labelled(plane, moods)
    fold_scores = [cross_validated_agreement(plane, moods, folds=FOLDS, seed=seed) for seed in SEEDS]
    per_split = [float(np.mean(scores)) for scores in fold_scores]
    all_folds = [score for scores in fold_scores for score in scores]

    # Per mood and confusion, pooled over the held-out folds of the first shuffle.
    confusion: Counter[tuple[str, str]] = Counter()
    moods_array = np.array(moods)
    for fold, predicted in held_out_predictions(plane, moods, folds=FOLDS, seed=SEEDS[0]):
        confusion.update(zip(moods_array[fold].tolist(), predicted, strict=True))
    names = list(rule.moods)

    shared_labels = [label_of[row.spotify_id] for row in shared]
    shared_plane = plane_of(shared)
    in_sample = agreement(rule.predict(shared_plane), shared_labels)
    shared_ids = {row.spotify_id for row in shared}
    others = [index for index, row in enumerate(labelled) if row.spotify_id not in shared_ids]
    out_of_sample_rule = RegionRule.from_labelled(plane[others], moods_array[others])
    out_of_sample = agreement(out_of_sample_rule.predict(shared_plane), shared_labels)
    labelled_plane = {row.spotify_id: plane[index] for index, row in enumerate(labelled)}
    moved = np.abs(shared_plane - np.array([labelled_plane[row.spotify_id] for row in shared])).max(axis=1)

    majority_mood, majority_count = Counter(moods).most_common(1)[0]
    features = np.array([[row.values[name] for name in MOOD_CLASSIFIER_FEATURES] for row in labelled])
    classifier = mood_classifier.train(features, moods_array)

    predicted_moods = Counter(rule.predict(plane_of(unlabelled)))
    genres = Counter(row.genre for row in playlists)
    subgenres = {(row.genre, row.subgenre) for row in playlists}
    catalog_size = len(labelled) + len(unlabelled)

    lines = [
        "# The catalog and its moods",
        "",
        "Written by `make report-catalog` (`manage.py catalog_report`) from the files in `catalog/seed/`; no "
        "database is read.",
        "",
        "## The default catalog",
        "",
        "| file | rows | songs | moods | genres |",
        "| --- | ---: | ---: | --- | --- |",
        f'| `data_moods.csv`, Kaggle "Spotify music data to identify the moods" | {labelled_rows:,} | '
        f"{len(labelled):,} | labelled: {_counts(Counter(moods))} | by `track_genres.csv` |",
        f'| `spotify_songs_28k.csv.gz`, TidyTuesday "Spotify songs" (2020-01-21, MIT) | {playlist_rows:,} | '
        f"{len(playlists):,} (a track in several playlists keeps its first row) | none | "
        f"{len(genres)} genres, {len(subgenres)} subgenres: {_counts(genres)} |",
        f"| **the default catalog** (`seed_catalog`) | | **{catalog_size:,}** | {len(labelled):,} labelled, "
        f"{len(unlabelled):,} from their region: {_counts(predicted_moods)} | |",
        "",
        f"Songs in both files (by Spotify id): {len(shared)}; there the labelled file's row, mood and genre win. "
        "The TidyTuesday file is shipped without its one broken row (a track whose audio features are all 0, "
        "tempo 0, 4 seconds long).",
        "",
        "## How often the region's mood is the label",
        "",
        "A song without a label gets the mood of the nearest mood centroid on valence x energy, each centroid the "
        "mean of the songs labelled with that mood (`catalog.mood_regions`, the mood map's regions). Measured "
        "against the labels of `data_moods.csv`:",
        "",
        "| measure | songs | agreement |",
        "| --- | ---: | ---: |",
        f"| {FOLDS}-fold cross-validation (stratified; centroids from 4 folds, agreement on the 5th), mean over "
        f"{len(SEEDS)} shuffles | {len(labelled)} | {percent(float(np.mean(per_split)))} (folds "
        f"{percent(min(all_folds))} to {percent(max(all_folds))}) |",
        f"| the songs both catalogs share, their TidyTuesday valence and energy, centroids from the other "
        f"{len(others)} labelled songs | {len(shared)} | {percent(out_of_sample)} |",
        f"| the same songs, centroids from all {len(labelled)} (as the catalog does) | {len(shared)} | "
        f"{percent(in_sample)} |",
        f"| always answering the commonest mood ({majority_mood}) | {len(labelled)} | "
        f"{percent(majority_count / len(labelled))} |",
    ]
    if classifier is not None:
        lines.append(
            f"| for comparison: a {classifier.name} on every audio feature and popularity ({classifier.folds}-fold "
            f"cross-validated accuracy, `catalog.mood_classifier`) | {classifier.training_songs} | "
            f"{percent(classifier.accuracy)} |"
        )
    lines += [
        "",
        f"Held-out songs by label (rows) and region (columns), {FOLDS} folds pooled, first shuffle:",
        "",
        "| label | " + " | ".join(names) + " | agreement |",
        "| --- | " + " | ".join("---:" for _ in names) + " | ---: |",
    ]
    for label in names:
        row_total = sum(confusion[label, name] for name in names)
        lines.append(
            f"| {label} | "
            + " | ".join(str(confusion[label, name]) for name in names)
            + f" | {percent(confusion[label, label] / row_total)} |"
        )
    lines += [
        "",
        "Valence and energy alone cannot tell some moods apart: Energetic and Happy songs are both energetic, Calm "
        "and Sad songs both low on valence, and the labels also follow the other features, so a classifier reading "
        "every feature agrees more often. The regions are used all the same, because a song's mood is then the mood "
        "of its place on the map: a list named after a mood holds songs of that region tagged with that mood, and "
        "the page's map, tags and headline agree. The shared songs' valence "
        f"and energy differ between the two files by at most {moved.max():.3f} (median {np.median(moved):.3f}).",
        "",
    ]
    return "\n".join(lines)


def _counts(counter: Counter) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in sorted(counter.items(), key=lambda item: -item[1]))


class Command(BaseCommand):
    help = (
        "Write reports/catalog.md: the default catalog's files and songs, and how often the mood map's regions "
        "agree with the labelled moods (cross-validated on the 686 labelled songs, and on the songs both files share)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, default=Path(settings.BASE_DIR) / "reports" / "catalog.md")

    def handle(self, *args, output: Path, **options) -> None:
        text = catalog_report()
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        self.stdout.write(text)
        self.stdout.write(self.style.SUCCESS(f"Wrote {output}"))
