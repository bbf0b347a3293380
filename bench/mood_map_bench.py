"""The mood map's figures on the catalog the database holds (recommend_bench.py calls it after seeding):
the share of listed songs in the named mood over random readings x the three strategies, and how much
two new users' lists for one emotion overlap.

A reading is a probability vector drawn from a Dirichlet(0.5) over the seven emotions (faces read
between clear and mixed), its emotion the most likely one, as the API gets it from a detection.
Django must be set up and the catalog loaded before `mood_map_figures` runs.
"""

import statistics
import time

import numpy as np

EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
STRATEGIES = ("match", "uplift", "calm")
TARGET_MEAN_SHARE = 0.95
TARGET_MIN_SHARE = 0.7
TARGET_OVERLAP = 0.5


def mood_map_figures(*, readings: int, seed: int = 0) -> dict:
    from accounts.models import User
    from recommendations.catalog_cache import current_catalog
    from recommendations.map_ranking import catalog_map
    from recommendations.mood_map import jaccard
    from recommendations.selectors import recommendations_for

    rng = np.random.default_rng(seed)
    # New users without ratings: the map alone decides (ratings only reorder inside the region).
    users = [User.objects.create(username=f"map-bench-{number}") for number in range(8)]
    catalog = current_catalog()
    mapped = catalog_map(catalog)
    shares: list[float] = []
    region_shares: list[float] = []
    moods_named: dict[str, int] = {}
    timings: list[float] = []
    for number in range(readings):
        probabilities = dict(zip(EMOTIONS, rng.dirichlet(np.full(len(EMOTIONS), 0.5)).tolist(), strict=True))
        emotion = max(probabilities, key=probabilities.__getitem__)
        for strategy in STRATEGIES:
            started = time.perf_counter()
            result = recommendations_for(
                user=users[number % len(users)], emotion=emotion, strategy=strategy, probabilities=probabilities
            )
            timings.append((time.perf_counter() - started) * 1000)
            if result.mood is None or not result.results:
                shares.append(0.0)
                continue
            moods_named[result.mood.name] = moods_named.get(result.mood.name, 0) + 1
            labels = [item.song.mood_id for item in result.results]
            shares.append(sum(label == result.mood.pk for label in labels) / len(labels))
            region = mapped.regions.mood_ids.index(result.mood.pk)
            rows = [catalog.row_of[item.song.pk] for item in result.results]
            region_shares.append(float((mapped.region_codes[rows] == region).mean()))
    overlaps = {}
    for emotion in EMOTIONS:
        first, second = (User.objects.create(username=f"map-bench-new-{emotion}-{number}") for number in range(2))
        lists = [
            [item.song.pk for item in recommendations_for(user=user, emotion=emotion, strategy="match").results]
            for user in (first, second)
        ]
        overlaps[emotion] = jaccard(*lists)
    figures = {
        "lists": len(shares),
        "mean_share": statistics.fmean(shares),
        "min_share": min(shares),
        "region_share": statistics.fmean(region_shares) if region_shares else 0.0,
        "moods_named": moods_named,
        "overlaps": overlaps,
        "selector_p95_ms": float(np.percentile(timings, 95)),
    }
    print(
        f"mood map, {figures['lists']} lists ({readings} random readings x {len(STRATEGIES)} strategies, new users): "
        f"share of listed songs tagged with the named mood {figures['mean_share']:.3f} on average "
        f"(target ≥ {TARGET_MEAN_SHARE}), lowest {figures['min_share']:.2f} (target ≥ {TARGET_MIN_SHARE}); "
        f"in the named mood's region {figures['region_share']:.3f}; moods named {moods_named}",
        flush=True,
    )
    print(
        "two new users' lists for one emotion (match), Jaccard overlap: "
        + ", ".join(f"{emotion} {overlap:.2f}" for emotion, overlap in overlaps.items())
        + f"; highest {max(overlaps.values()):.2f} (target ≤ {TARGET_OVERLAP})",
        flush=True,
    )
    return figures
