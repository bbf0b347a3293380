"""The moods as regions of the valence x energy plane: the one rule that gives a song without a label its mood.

Pure numpy, no Django. Each mood's centre is the one admins set for it, else
the mean (valence, energy) of the songs labelled with it, and a point belongs
to the mood of the nearest centre (Voronoi cells). The centres are read in one
place (`catalog.selectors.mood_centres_get`); the recommender's mood map
(`recommendations.mood_map`) draws and ranks by the same cells, so a song whose
mood was filled in here lies in the region of its own mood, and the lists named
after a mood can list it.
"""

import math
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

# The plane's two axes, both catalog columns in 0..1.
PLANE_FEATURES: tuple[str, str] = ("valence", "energy")


def nearest_centroid(points: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """(n,) index of the nearest centroid for each (valence, energy) row; -1 for every row without centroids."""
    points = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    centroids = np.asarray(centroids, dtype=np.float32).reshape(-1, 2)
    if not len(centroids):
        return np.full(len(points), -1, dtype=np.int32)
    # |p - c|² = |p|² - 2 p·c + |c|²; |p|² is the same for every centroid, so it can be left out.
    distance = (centroids * centroids).sum(axis=1)[None, :] - 2.0 * (points @ centroids.T)
    return np.argmin(distance, axis=1).astype(np.int32)


@dataclass(frozen=True)
class RegionRule:
    """Moods (any labels: names or ids) and their centroids, learned from labelled songs."""

    moods: tuple[Hashable, ...]
    centroids: np.ndarray  # (len(moods), 2) valence, energy

    @classmethod
    def from_centres(cls, centres: Mapping[Hashable, tuple[float, float]]) -> "RegionRule":
        """The regions of these centres (mood -> (valence, energy)), moods in sorted order."""
        moods = tuple(sorted(centres))
        centroids = np.array([centres[mood] for mood in moods], dtype=np.float64).reshape(-1, 2)
        return cls(moods=moods, centroids=centroids)

    @classmethod
    def from_labelled(cls, plane: np.ndarray, labels: Sequence[Hashable]) -> "RegionRule":
        """Centroids of the labelled songs' (valence, energy), moods in sorted order."""
        plane = np.asarray(plane, dtype=np.float64).reshape(-1, 2)
        labels_array = np.asarray(labels)
        moods = tuple(sorted(set(labels_array.tolist())))
        centroids = np.array([plane[labels_array == mood].mean(axis=0) for mood in moods]).reshape(-1, 2)
        return cls(moods=moods, centroids=centroids)

    def predict(self, plane: np.ndarray) -> list[Hashable]:
        """The mood of each (valence, energy) row; needs at least one mood."""
        if not self.moods:
            raise ValueError("No labelled songs: the regions have no centroids.")
        return [self.moods[index] for index in nearest_centroid(plane, self.centroids)]


def agreement(predicted: Sequence[Hashable], labels: Sequence[Hashable]) -> float:
    """The share of songs whose region's mood is their label."""
    if not len(labels):
        return float("nan")
    return float(np.mean([guess == label for guess, label in zip(predicted, labels, strict=True)]))


def held_out_predictions(
    plane: np.ndarray, labels: Sequence[Hashable], *, folds: int = 5, seed: int = 0
) -> Iterator[tuple[np.ndarray, list[Hashable]]]:
    """(held-out mask, their predicted moods) for each fold, its centroids learned from the other folds.

    Stratified: each mood's songs, shuffled with `seed`, are dealt round the folds, so that every fold holds
    every mood in its share.
    """
    plane = np.asarray(plane, dtype=np.float64).reshape(-1, 2)
    labels_array = np.asarray(labels)
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(labels_array), dtype=np.int64)
    for mood in sorted(set(labels_array.tolist())):
        members = rng.permutation(np.flatnonzero(labels_array == mood))
        fold_of[members] = (np.arange(len(members)) + rng.integers(folds)) % folds
    for fold in range(folds):
        held_out = fold_of == fold
        rule = RegionRule.from_labelled(plane[~held_out], labels_array[~held_out])
        yield held_out, rule.predict(plane[held_out])


def cross_validated_agreement(
    plane: np.ndarray, labels: Sequence[Hashable], *, folds: int = 5, seed: int = 0
) -> list[float]:
    """The agreement on each held-out fold (`held_out_predictions`)."""
    labels_array = np.asarray(labels)
    return [
        agreement(predicted, labels_array[held_out].tolist())
        for held_out, predicted in held_out_predictions(plane, labels, folds=folds, seed=seed)
    ]


# --- Regions as polygons, and the checks on centres admins set ------------------------------------

Polygon = list[tuple[float, float]]
UNIT_SQUARE: Polygon = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
# Two centres closer than this make two regions that no one can tell apart on the map.
MIN_CENTRE_DISTANCE = 0.05
# A region smaller than this share of the square holds too few songs to list.
MIN_REGION_AREA = 0.01
# The fewest songs of its own mood (or of none yet) a region may hold: one list's worth. Fewer, and
# the lists named after it would lend songs of other moods.
REGION_SONGS_LEAST = 10


def _clip(polygon: Polygon, normal: tuple[float, float], limit: float) -> Polygon:
    """The part of a convex polygon where normal · p <= limit (one step of Sutherland-Hodgman)."""
    kept: Polygon = []
    for index, current in enumerate(polygon):
        following = polygon[(index + 1) % len(polygon)]
        current_side = normal[0] * current[0] + normal[1] * current[1] - limit
        following_side = normal[0] * following[0] + normal[1] * following[1] - limit
        if current_side <= 0:
            kept.append(current)
        if (current_side < 0 < following_side) or (following_side < 0 < current_side):
            share = current_side / (current_side - following_side)
            kept.append(
                (
                    current[0] + share * (following[0] - current[0]),
                    current[1] + share * (following[1] - current[1]),
                )
            )
    return kept


def region_polygons(centroids: np.ndarray) -> list[Polygon]:
    """Each centroid's Voronoi cell inside the unit square, as (valence, energy) corners counter-clockwise."""
    centres = np.asarray(centroids, dtype=np.float64).reshape(-1, 2)
    cells = []
    for index, centre in enumerate(centres):
        cell = list(UNIT_SQUARE)
        for other_index, other in enumerate(centres):
            if other_index == index or not cell:
                continue
            # Closer to `centre` than to `other`: 2 p·(other - centre) <= |other|² - |centre|².
            normal = (2.0 * float(other[0] - centre[0]), 2.0 * float(other[1] - centre[1]))
            cell = _clip(cell, normal, float(other @ other - centre @ centre))
        cells.append(cell)
    return cells


def polygon_area(polygon: Polygon) -> float:
    """The shoelace area (0 for fewer than three corners)."""
    if len(polygon) < 3:
        return 0.0
    twice = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1], strict=True))
    return abs(twice) / 2.0


def region_problems(centres: Sequence[tuple[str, tuple[float, float]]]) -> list[str]:
    """Sentences naming moods (name, (valence, energy)) whose regions sit on top of each other or have
    (almost) no area; [] if fine."""
    problems = []
    for index, (name, centre) in enumerate(centres):
        for other_name, other in centres[index + 1 :]:
            distance = math.dist(centre, other)
            if distance < MIN_CENTRE_DISTANCE:
                problems.append(
                    f"{name} and {other_name} would sit on top of each other on the mood map (centres "
                    f"{distance:.3f} apart): keep their centres at least {MIN_CENTRE_DISTANCE} apart."
                )
    cells = region_polygons(np.array([centre for _, centre in centres], dtype=np.float64))
    for (name, _), cell in zip(centres, cells, strict=True):
        if polygon_area(cell) < MIN_REGION_AREA:
            problems.append(
                f"{name}'s region would cover less than {MIN_REGION_AREA:.0%} of the mood map: "
                "move its centre away from the others."
            )
    return problems


def own_songs_per_region(
    rule: RegionRule, plane: np.ndarray, moods: Sequence[Hashable | None], predicted: Sequence[bool]
) -> dict[Hashable, int]:
    """Per mood, the songs its region holds that it can list: those labelled with it, and those whose mood
    is missing or predicted (the regions give them theirs)."""
    regions = rule.predict(plane) if len(moods) else []
    counts = dict.fromkeys(rule.moods, 0)
    for region, mood, guessed in zip(regions, moods, predicted, strict=True):
        if mood is None or guessed or mood == region:
            counts[region] += 1
    return counts
