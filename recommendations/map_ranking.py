"""The mood map applied to the catalog matrix: each song's place and region, and the content score
inside the target's region. numpy over `engine.Catalog`, no Django.

The regions' centres are the catalog's (catalog.selectors.mood_centres_get: the centre admins set
on a mood, else the mean valence and energy of the songs labelled with it), the same centres that
gave songs their predicted moods; a matrix alone (offline evaluation) uses its labelled songs'
means. A song is a candidate for a mood when it lies in that mood's region and its own mood, if
it has one, is that mood: the list then agrees with the mood named both on the map and by the tags
the page shows beside each song. A region holding too few such songs lends its other songs.
"""

import threading
from collections.abc import Mapping
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
_cached: tuple[Catalog, tuple, CatalogMap] | None = None


def catalog_plane(catalog: Catalog) -> np.ndarray:
    """(n, 2) valence and energy in 0..1, from the standardized matrix."""
    columns = [VALENCE, ENERGY]
    plane = catalog.features[:, columns].astype(np.float64) * catalog.std[columns] + catalog.mean[columns]
    return np.clip(plane, 0.0, 1.0).astype(np.float32)


def labelled_centres(catalog: Catalog) -> dict[int, MapPoint]:
    """Each mood's centre as the matrix's labelled songs set it: their mean valence and energy (moods without
    any left out). For a matrix alone; the live map uses the catalog's centres (mood_centres_get)."""
    return {
        int(mood_id): MapPoint.clipped(
            float(profile[VALENCE] * catalog.std[VALENCE] + catalog.mean[VALENCE]),
            float(profile[ENERGY] * catalog.std[ENERGY] + catalog.mean[ENERGY]),
        )
        for mood_id, profile in zip(catalog.mood_ids, catalog.mood_profiles, strict=True)
        if not np.isnan(profile).any()
    }


def _profile(catalog: Catalog, mood_id: int) -> np.ndarray | None:
    """The mood's mean standardized features in the matrix, None for a mood it has no songs of."""
    if mood_id not in catalog.mood_ids:
        return None
    profile = catalog.mood_profiles[catalog.mood_ids.index(mood_id)]
    return None if np.isnan(profile).any() else profile


def build_catalog_map(catalog: Catalog, centres: Mapping[int, MapPoint] | None = None) -> CatalogMap:
    """The map of the catalog with these regions' centres (mood id -> point, catalog.selectors.mood_centres_get);
    None: the means of the matrix's labelled songs (`labelled_centres`)."""
    plane = catalog_plane(catalog)
    regions = MoodRegions.from_centres(labelled_centres(catalog) if centres is None else centres)
    kept = [(mood_id, _profile(catalog, mood_id)) for mood_id in regions.mood_ids]
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


def catalog_map(catalog: Catalog, centres: Mapping[int, MapPoint] | None = None) -> CatalogMap:
    """The map of this catalog matrix and these centres, kept while both are the current ones."""
    global _cached
    key = tuple(sorted((mood_id, point.valence, point.energy) for mood_id, point in (centres or {}).items()))
    cached = _cached
    if cached is not None and cached[0] is catalog and cached[1] == key:
        return cached[2]
    with _lock:
        if _cached is not None and _cached[0] is catalog and _cached[1] == key:
            return _cached[2]
        built = build_catalog_map(catalog, centres)
        _cached = (catalog, key, built)
        return built


@dataclass(frozen=True)
class MapScores:
    mood_id: int | None  # the region holding the target
    content: np.ndarray  # (n,) content score, -inf for songs outside the candidates
    profile: np.ndarray | None  # the named mood's feature profile, for the reasons' words


def map_scores(
    catalog: Catalog,
    *,
    target: MapPoint,
    seed: int | None,
    minimum: int = 10,
    allowed: np.ndarray | None = None,
    centres: Mapping[int, MapPoint] | None = None,
) -> MapScores:
    """The content score of the songs of the target's region (-inf elsewhere).

    `minimum`: when fewer songs of the region carry its mood (or none), the region's other songs
    join; a catalog without moods ranks every song by the plane alone. `allowed`: (n,) bool, the
    songs that may be listed (the user's genres); the others are -inf too. They do not count toward
    `minimum`: genres left out make a list shorter (the answer says so), never one of another mood.
    `centres`: the regions' centres, as build_catalog_map.
    """
    mapped = catalog_map(catalog, centres)
    mood_id = mapped.regions.mood_of(target)
    if mood_id is None:
        chosen, profile = mapped.everything, None
    else:
        chosen = mapped.agreeing[mood_id]
        if len(chosen.rows) < minimum:
            chosen = mapped.in_region[mood_id]
        profile = _profile(catalog, mood_id)
    content = np.full(catalog.size, -np.inf, dtype=np.float32)
    if len(chosen.rows):
        # Scored over the whole candidate set, then masked: each song keeps its share of the user's
        # variety whichever genres are left out.
        content[chosen.rows] = map_content(plane=chosen.plane, steady=chosen.steady, target=target, seed=seed)
    if allowed is not None:
        content[~allowed] = -np.inf
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
