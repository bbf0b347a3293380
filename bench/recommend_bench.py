"""The mood map's figures, and the latency of GET /api/recommendations/ for a user with ratings at the
bundled catalog and at --songs songs (`make bench-recommend`: 1,000,000).

    .venv/bin/python bench/recommend_bench.py [--requests 300] [--songs 200000] [--readings 300] [--report]
        [--exclude-genres 3]

On the bundled catalog first, `bench/mood_map_bench.py`: the share of listed songs in the named mood
over --readings random readings x three strategies, and two new users' overlap for each emotion.

It builds a throwaway SQLite database (a temporary file; DATABASE_URL is
overridden), migrates it, loads the bundled catalog, gives one user 30
ratings, and times requests through Django's full stack (URL routing,
middleware, token authentication, serializers) in this process. Then it adds
synthetic songs with `manage.py generate_catalog` up to --songs and measures
again. The first request after a catalog change rebuilds the in-memory
feature matrix; it is timed separately and not counted in p50/p95.
With --exclude-genres N a second user, with the same ratings, leaves out the
catalog's N commonest genres (PATCH /api/me/) and filters every third request
by the next commonest one; its requests are timed in turn with the first
user's, so that the two figures see the same load.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.common import markdown_table, percentile  # noqa: E402
from bench.mood_map_bench import mood_map_figures  # noqa: E402

EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# p95 targets: the default catalog (seed_catalog), and the synthetic catalog of --songs songs.
TARGET_P95_MS = {"seed catalog": 50.0, "synthetic catalog": 250.0}
TARGET_SEED_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="timed requests per catalog size")
    parser.add_argument("--songs", type=int, default=200_000, help="the large catalog's size")
    parser.add_argument("--ratings", type=int, default=30)
    parser.add_argument("--report", action="store_true", help="also write reports/recommender_bench.md")
    parser.add_argument(
        "--readings", type=int, default=300, help="random readings for the mood map's figures (x 3 strategies)"
    )
    parser.add_argument(
        "--exclude-genres",
        type=int,
        default=0,
        help="a second user leaves out this many of the commonest genres, filtering a third of requests by the next",
    )
    options = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="emomusic-bench-")
    try:
        run(options, workdir)
    finally:
        # The 200,000-song database is a few hundred MB: never leave it behind.
        from django.db import connections

        connections.close_all()
        shutil.rmtree(workdir, ignore_errors=True)


def run(options: argparse.Namespace, workdir: str) -> None:
    os.environ.update(
        {
            "DJANGO_ENV": "development",
            "DEBUG": "0",
            "DATABASE_URL": f"sqlite:///{workdir}/bench.sqlite3",
            "RATE_LIMITS_ENABLED": "0",
            "LOG_LEVEL": "WARNING",
        }
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emomusic_site.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from accounts.models import User
    from catalog.models import Song
    from detection.models import Detection, DetectionStatus
    from recommendations.services import rating_upsert

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    call_command("seed_catalog", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    seed_seconds = time.perf_counter() - started
    print(
        f"seeding the default catalog ({Song.objects.count():,} songs) into an empty database: {seed_seconds:.1f} s "
        f"(target ≤ {TARGET_SEED_SECONDS:.0f} s)",
        flush=True,
    )
    mood_map_figures(readings=options.readings)
    probabilities = dict.fromkeys(EMOTIONS, 0.05) | {"sad": 0.55, "fear": 0.15}
    songs = list(Song.objects.order_by("?")[: options.ratings])

    def bench_user(username: str) -> tuple[APIClient, Detection]:
        """A user with a detection and the same ratings as every other bench user, and their API client."""
        user = User.objects.create_user(username=username, password="a-long-bench-passphrase-1")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        detection = Detection.objects.create(
            user=user, status=DetectionStatus.DONE, emotion="sad", confidence=0.55, probabilities=probabilities
        )
        for number, song in enumerate(songs):
            rating_upsert(user=user, song=song, score=1 + number % 5, emotion=EMOTIONS[number % len(EMOTIONS)])
        return client, detection

    client, detection = bench_user("bench")
    # Timed in turn with the first user's requests, so that both see the same load on the machine.
    genre_client, genre_detection = bench_user("bench-genres") if options.exclude_genres else (None, None)

    def genres_chosen() -> str:
        """The genre user leaves out the commonest genres; returns the genre a third of its requests filter by."""
        genres = [genre["name"] for genre in sorted(client.get("/api/genres/").json(), key=lambda g: -g["songs"])]
        excluded = genres[: options.exclude_genres]
        response = genre_client.patch("/api/me/", {"excluded_genres": excluded}, format="json")
        assert response.status_code == 200, response.content
        kept = genres[options.exclude_genres] if len(genres) > options.exclude_genres else ""
        print(f"genres: leaving out {', '.join(excluded)}; a third of the requests filter by {kept or 'nothing'}")
        return kept

    def timed_request(client: APIClient, detection: Detection, number: int, genre: str = "") -> float:
        params = (
            {"detection": detection.pk, "limit": 10}
            if number % 4 == 0
            else {"emotion": EMOTIONS[number % len(EMOTIONS)], "limit": 10}
        )
        filtered = bool(genre) and number % 3 == 0
        if filtered:
            params["genre"] = genre
        started = time.perf_counter()
        response = client.get("/api/recommendations/", params)
        elapsed = (time.perf_counter() - started) * 1000
        # A genre filter may leave fewer songs in a mood than asked for (the answer's notice says so).
        assert response.status_code == 200, response.content
        assert filtered or len(response.json()["results"]) == 10, response.content
        return elapsed

    def measure(label: str) -> dict:
        genre = genres_chosen() if genre_client else ""
        started = time.perf_counter()
        first = client.get("/api/recommendations/", {"emotion": "sad", "limit": 10})
        cold_ms = (time.perf_counter() - started) * 1000
        assert first.status_code == 200, first.content
        timings, genre_timings = [], []
        for number in range(options.requests):
            timings.append(timed_request(client, detection, number))
            if genre_client:
                genre_timings.append(timed_request(genre_client, genre_detection, number, genre))
        if genre_timings:
            print(
                f"with {options.exclude_genres} genres left out: p50 {statistics.median(genre_timings):.1f} ms, p95 "
                f"{percentile(genre_timings, 0.95):.1f} ms (every genre, in turn with it: p50 "
                f"{statistics.median(timings):.1f} ms, p95 {percentile(timings, 0.95):.1f} ms)",
                flush=True,
            )
        rating_timings = []
        for number in range(20):
            started = time.perf_counter()
            response = client.post(
                "/api/ratings/",
                {"song": songs[number % len(songs)].pk, "score": 1 + number % 5, "detection": detection.pk},
                format="json",
            )
            rating_timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code in (200, 201), response.content
        count = Song.objects.count()
        result = {
            "label": label,
            "songs": count,
            "cold_ms": cold_ms,
            "p50": statistics.median(timings),
            "p95": percentile(timings, 0.95),
            "max": max(timings),
            "rating_p50": statistics.median(rating_timings),
            "target": TARGET_P95_MS.get(label),
        }
        target = f" (target p95 ≤ {result['target']:.0f} ms)" if result["target"] else ""
        print(
            f"{count:>8} songs: p50 {result['p50']:.1f} ms, p95 {result['p95']:.1f} ms, max {result['max']:.1f} ms"
            f"{target}; first request after the catalog changed {cold_ms:.0f} ms; POST /api/ratings/ p50 "
            f"{result['rating_p50']:.1f} ms",
            flush=True,
        )
        return result

    results = [measure("seed catalog")]
    missing = options.songs - Song.objects.count()
    if missing > 0:
        started = time.perf_counter()
        call_command("generate_catalog", songs=missing, verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
        print(f"generated {missing} synthetic songs in {time.perf_counter() - started:.0f} s", flush=True)
        results.append(measure("synthetic catalog"))

    if options.report:
        lines = [
            "# Recommendation latency",
            "",
            f"`.venv/bin/python bench/recommend_bench.py --requests {options.requests} --songs {options.songs} "
            "--report`: one user with "
            f"{options.ratings} ratings, {options.requests} timed `GET /api/recommendations/?limit=10` requests per "
            "catalog size through Django's full stack in one process (a quarter by detection, with its probability "
            "vector; the rest by emotion), on a temporary SQLite database seeded with the default catalog "
            f"({results[0]['songs']:,} songs; seeding took {seed_seconds:.0f} s), then synthetic songs. The machine "
            "has 2 CPU cores shared with other work, so these are pessimistic figures.",
            "",
            *markdown_table(
                ["songs", "p50 ms", "p95 ms", "max ms", "target p95", "first request after a catalog change ms",
                 "POST /api/ratings/ p50 ms"],
                "rrrrrrr",
                [
                    [f"{result['songs']:,}", f"{result['p50']:.1f}", f"{result['p95']:.1f}", f"{result['max']:.1f}",
                     f"≤ {result['target']:.0f} ms" if result["target"] else "—", f"{result['cold_ms']:.0f}",
                     f"{result['rating_p50']:.1f}"]
                    for result in results
                ],
            ),
            "",
        ]  # fmt: skip
        path = BASE_DIR / "reports" / "recommender_bench.md"
        path.write_text("\n".join(lines), encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
