"""The mood map applied to the catalog matrix: each song's place and region, and the content score
inside the target's region. numpy over `engine.Catalog`, no Django.

The regions come from the catalog itself (each mood's centroid is the mean valence and energy of
the songs labelled with it, i.e. its profile in the matrix), so they follow the catalog when it
changes. A song is a candidate for a mood when it lies in that mood's region and its own mood, if
it has one, is that mood: the list then agrees with the mood named both on the map and by the tags
the page shows beside each song. A region holding too few such songs lends its other songs.
"""

import threading
from dataclasses import dataclass

import numpy as np

from recommendations.engine import FEATURES, Catalog
from recommendations.mood_map import MapPoint, MoodRegions, map_content, steady_content

VALENCE = FEATURES.index("valence")
ENERGY = FEATURES.index("energy")
OTHER_FEATURES = np.array([index for index in range(len(FEATURES)) if index not in (VALENCE, ENERGY)])


@dataclass(frozen=True)
class Candidates:
    """Songs that may be listed for one mood, with what their score needs that no request changes."""

    rows: np.ndarray  # (k,) catalog rows
    plane: np.ndarray  # (k, 2) their valence and energy
    steady: np.ndarray  # (k,) closeness to the mood's profile on the other features, and popularity


@dataclass(frozen=True)
class CatalogMap:
    """Every song's place on the plane and region, and each mood's candidates, built once per catalog matrix."""

    plane: np.ndarray  # (n, 2) float32 valence, energy as in the catalog (0..1)
    regions: MoodRegions
    region_codes: np.ndarray  # (n,) int32 index into regions.mood_ids, -1 without regions
    agreeing: dict[int, Candidates]  # mood id -> songs in its region whose own mood is it or none
    in_region: dict[int, Candidates]  # mood id -> every song in its region
    everything: Candidates  # every song, for a catalog without moods


_lock = threading.Lock()
_cached: tuple[Catalog, CatalogMap] | None = None


def catalog_plane(catalog: Catalog) -> np.ndarray:
    """(n, 2) valence and energy in 0..1, from the standardized matrix."""
    columns = [VALENCE, ENERGY]
    plane = catalog.features[:, columns].astype(np.float64) * catalog.std[columns] + catalog.mean[columns]
    return np.clip(plane, 0.0, 1.0).astype(np.float32)


def build_catalog_map(catalog: Catalog) -> CatalogMap:
    plane = catalog_plane(catalog)
    kept = [
        (mood_id, profile)
        for mood_id, profile in zip(catalog.mood_ids, catalog.mood_profiles, strict=True)
        if not np.isnan(profile).any()
    ]
    # A mood's profile is the mean of its labelled songs' standardized features: un-standardized, its
    # valence and energy are the mean valence and energy of those songs, the region's centroid.
    centroids = np.array(
        [
            [
                profile[VALENCE] * catalog.std[VALENCE] + catalog.mean[VALENCE],
                profile[ENERGY] * catalog.std[ENERGY] + catalog.mean[ENERGY],
            ]
            for _, profile in kept
        ],
        dtype=np.float64,
    ).reshape(-1, 2)
    regions = MoodRegions(mood_ids=tuple(int(mood_id) for mood_id, _ in kept), centroids=centroids)
    region_codes = regions.region_of(plane)
    song_moods = np.full(catalog.size, -1, dtype=np.int64)
    known = catalog.mood_codes >= 0
    song_moods[known] = np.array(catalog.mood_ids, dtype=np.int64)[catalog.mood_codes[known]]

    def candidates(rows: np.ndarray, profile: np.ndarray | None) -> Candidates:
        closeness = _feature_closeness(catalog, rows, profile)
        return Candidates(rows=rows, plane=plane[rows], steady=steady_content(closeness, catalog.popularity[rows]))

    agreeing: dict[int, Candidates] = {}
    in_region: dict[int, Candidates] = {}
    for code, (mood_id, profile) in enumerate(kept):
        inside = region_codes == code
        in_region[mood_id] = candidates(np.flatnonzero(inside), profile)
        agreeing[mood_id] = candidates(np.flatnonzero(inside & ((song_moods == mood_id) | (song_moods < 0))), profile)
    return CatalogMap(
        plane=plane,
        regions=regions,
        region_codes=region_codes,
        agreeing=agreeing,
        in_region=in_region,
        everything=candidates(np.arange(catalog.size), None),
    )


def catalog_map(catalog: Catalog) -> CatalogMap:
    """The map of this catalog matrix, kept for as long as the matrix is the current one."""
    global _cached
    cached = _cached
    if cached is not None and cached[0] is catalog:
        return cached[1]
    with _lock:
        if _cached is not None and _cached[0] is catalog:
            return _cached[1]
        built = build_catalog_map(catalog)
        _cached = (catalog, built)
        return built


@dataclass(frozen=True)
class MapScores:
    mood_id: int | None  # the region holding the target
    content: np.ndarray  # (n,) content score, -inf for songs outside the candidates
    profile: np.ndarray | None  # the named mood's feature profile, for the reasons' words


def map_scores(catalog: Catalog, *, target: MapPoint, seed: int | None, minimum: int = 10) -> MapScores:
    """The content score of the songs of the target's region (-inf elsewhere).

    `minimum`: when fewer songs of the region carry its mood (or none), the region's other songs
    join; a catalog without moods ranks every song by the plane alone.
    """
    mapped = catalog_map(catalog)
    mood_id = mapped.regions.mood_of(target)
    if mood_id is None:
        chosen, profile = mapped.everything, None
    else:
        chosen = mapped.agreeing[mood_id]
        if len(chosen.rows) < minimum:
            chosen = mapped.in_region[mood_id]
        profile = catalog.mood_profiles[catalog.mood_ids.index(mood_id)]
    content = np.full(catalog.size, -np.inf, dtype=np.float32)
    if len(chosen.rows):
        content[chosen.rows] = map_content(plane=chosen.plane, steady=chosen.steady, target=target, seed=seed)
    return MapScores(mood_id=mood_id, content=content, profile=profile)


def _feature_closeness(catalog: Catalog, rows: np.ndarray, profile: np.ndarray | None) -> np.ndarray:
    """0..1: closeness to the mood's profile on the features other than valence and energy."""
    if profile is None or not len(rows):
        return np.zeros(len(rows), dtype=np.float32)
    weights = catalog.feature_weights[OTHER_FEATURES]
    difference = catalog.features[np.ix_(rows, OTHER_FEATURES)] - profile[OTHER_FEATURES]
    distance = np.einsum("ij,ij,j->i", difference, difference, weights)
    # A regular sample's median is as good a scale as the exact one, and far cheaper at a million songs.
    scale = float(np.median(distance[:: max(1, len(distance) // 5000)])) or 1.0
    return np.exp(-distance / scale).astype(np.float32)
