import string
from collections.abc import Iterator

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from catalog.models import Mood, Song
from catalog.schema import UNIT_INTERVAL_FEATURES

# Synthetic songs carry this Spotify id prefix, so that they can be told apart and removed.
SYNTHETIC_PREFIX = "synthetic"
BATCH = 5000


def _logit(values: np.ndarray) -> np.ndarray:
    clipped = np.clip(values, 1e-3, 1 - 1e-3)
    return np.log(clipped / (1 - clipped))


def _expit(values: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-values))


def _synthetic_id(number: int) -> str:
    alphabet = string.digits + string.ascii_letters
    digits = ""
    while True:
        number, remainder = divmod(number, len(alphabet))
        digits = alphabet[remainder] + digits
        if number == 0:
            break
    return SYNTHETIC_PREFIX + digits.rjust(22 - len(SYNTHETIC_PREFIX), "0")


class Command(BaseCommand):
    help = (
        "Add N synthetic songs sampled from the real catalog's feature distribution (a Gaussian per mood over "
        "logit-transformed audio features), for scale tests. Their Spotify ids start with "
        f"'{SYNTHETIC_PREFIX}'; --delete removes them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--songs", type=int, help="how many synthetic songs to add")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--unlabelled", action="store_true", help="leave their mood empty (for the mood regions to fill)"
        )
        parser.add_argument("--delete", action="store_true", help="remove every synthetic song instead")

    def handle(self, *args, songs: int | None, seed: int, unlabelled: bool, delete: bool, **options) -> None:
        if delete:
            deleted, _ = Song.objects.filter(spotify_id__startswith=SYNTHETIC_PREFIX).delete()
            self.stdout.write(self.style.SUCCESS(f"Removed {deleted} synthetic rows."))
            return
        if songs is None or songs < 1:
            raise CommandError("Give --songs N with N at least 1 (or --delete).")
        real = Song.objects.exclude(spotify_id__startswith=SYNTHETIC_PREFIX).filter(mood__isnull=False)
        columns = (
            "mood_id",
            *UNIT_INTERVAL_FEATURES,
            "loudness",
            "tempo",
            "popularity",
            "length_ms",
            "key",
            "time_signature",
        )
        rows = np.array(list(real.values_list(*columns)), dtype=np.float64)
        if len(rows) < 20:
            raise CommandError("The catalog needs at least 20 songs with a mood to sample from; import one first.")
        genres = [genre for genre in real.values_list("genre", flat=True) if genre] or [""]
        start = Song.objects.filter(spotify_id__startswith=SYNTHETIC_PREFIX).count()
        rng = np.random.default_rng(seed)
        created = 0
        with transaction.atomic():
            for batch in self._batches(rows, genres, songs, start, rng, unlabelled):
                Song.objects.bulk_create(batch, batch_size=1000)
                created += len(batch)
                self.stdout.write(f"  {created}/{songs}")
        self.stdout.write(
            self.style.SUCCESS(f"Added {created} synthetic songs; the catalog has {Song.objects.count()}.")
        )

    def _batches(
        self, rows: np.ndarray, genres: list[str], total: int, start: int, rng: np.random.Generator, unlabelled: bool
    ) -> Iterator[list[Song]]:
        mood_ids = rows[:, 0].astype(int)
        unit = len(UNIT_INTERVAL_FEATURES)
        # Sampled in a space where a Gaussian fits: logit for 0..1 features, log for tempo and length.
        transformed = np.column_stack(
            [
                _logit(rows[:, 1 : 1 + unit]),
                rows[:, 1 + unit],
                np.log(rows[:, 2 + unit]),
                rows[:, 3 + unit],
                np.log(rows[:, 4 + unit]),
            ]
        )
        moods, counts = np.unique(mood_ids, return_counts=True)
        models = {}
        for mood in moods:
            members = transformed[mood_ids == mood]
            covariance = np.cov(members, rowvar=False) if len(members) > 2 else np.eye(transformed.shape[1])
            models[mood] = (members.mean(axis=0), covariance + 1e-6 * np.eye(transformed.shape[1]))
        # NaN: a real song whose time signature is unknown; the synthetic songs keep that share unknown.
        keys, time_signatures = rows[:, 5 + unit].astype(int), rows[:, 6 + unit]
        mood_objects = Mood.objects.in_bulk([int(mood) for mood in moods])
        artist_pool = max(1, total // 4)
        number = start
        for offset in range(0, total, BATCH):
            size = min(BATCH, total - offset)
            chosen = rng.choice(moods, size=size, p=counts / counts.sum())
            samples = np.empty((size, transformed.shape[1]))
            for mood in moods:
                where = chosen == mood
                if where.any():
                    mean, covariance = models[mood]
                    samples[where] = rng.multivariate_normal(mean, covariance, size=int(where.sum()))
            batch = []
            for index in range(size):
                sample = samples[index]
                values = dict(zip(UNIT_INTERVAL_FEATURES, np.round(_expit(sample[:unit]), 4), strict=True))
                number += 1
                artist = int(rng.integers(artist_pool))
                year = int(rng.integers(1960, 2024))
                batch.append(
                    Song(
                        spotify_id=_synthetic_id(number),
                        name=f"Synthetic Song {number}",
                        album=f"Synthetic Album {number // 10}",
                        artist=f"Synthetic Artist {artist}",
                        release_date=str(year),
                        release_year=year,
                        popularity=int(np.clip(round(sample[unit + 2]), 0, 100)),
                        length_ms=int(np.clip(np.exp(sample[unit + 3]), 30_000, 1_200_000)),
                        loudness=float(np.clip(round(sample[unit], 3), -60, 5)),
                        tempo=float(np.clip(round(np.exp(sample[unit + 1]), 3), 40, 250)),
                        key=int(keys[rng.integers(len(keys))]),
                        time_signature=_known_or_none(time_signatures[rng.integers(len(time_signatures))]),
                        mood=None if unlabelled else mood_objects[int(chosen[index])],
                        genre=genres[rng.integers(len(genres))],
                        **{name: float(value) for name, value in values.items()},
                    )
                )
            yield batch


def _known_or_none(value: float) -> int | None:
    return None if np.isnan(value) else int(value)
