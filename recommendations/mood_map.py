"""The mood map: one plane for emotions, moods and songs. Pure numpy, no Django (`catalog.mood_regions` aside).

The plane is valence (x: sad to happy) by energy (y: calm to energetic), both
catalog columns in 0..1. On it:

* each of the seven emotions has a place (defaults below, from Russell's
  circumplex of affect; admins move them through `EmotionPlace`);
* a photo's point is the probability-weighted mean of the emotions' places;
* a strategy moves the point to a target (match stays, lift moves toward
  positive valence, calm toward low energy) by an amount admins set through
  `StrategyMove`;
* the moods are regions: each mood's centre is the one admins set on the mood
  (catalog.Mood), else the mean (valence, energy) of the songs labelled with
  it, and a point belongs to the nearest centre (Voronoi cells, the catalog's
  own rule: catalog.mood_regions). The mood a page names is the region holding
  the target;
* songs rank by closeness to the target on the plane first, the other audio
  features a lighter term, and only songs of the named region are candidates,
  so the mood named and the songs listed agree by construction.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from catalog import mood_regions
from catalog.mood_regions import MIN_CENTRE_DISTANCE as MIN_CENTRE_DISTANCE
from catalog.mood_regions import MIN_REGION_AREA as MIN_REGION_AREA
from catalog.mood_regions import Polygon, nearest_centroid
from catalog.mood_regions import polygon_area as polygon_area
from catalog.mood_regions import region_polygons as region_polygons

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
STRATEGIES: tuple[str, ...] = ("match", "uplift", "calm")


class OffTheMap(ValueError):
    """A point outside the plane's 0..1 square."""


@dataclass(frozen=True)
class MapPoint:
    valence: float
    energy: float

    def __post_init__(self) -> None:
        for name in ("valence", "energy"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0.0 <= float(value) <= 1.0:
                raise OffTheMap(f"{name.capitalize()} must be a number from 0 to 1, not {value!r}.")

    @classmethod
    def clipped(cls, valence: float, energy: float) -> "MapPoint":
        return cls(valence=float(min(1.0, max(0.0, valence))), energy=float(min(1.0, max(0.0, energy))))

    def as_dict(self) -> dict[str, float]:
        return {"valence": round(self.valence, 3), "energy": round(self.energy, 3)}

    def as_array(self) -> np.ndarray:
        return np.array([self.valence, self.energy], dtype=np.float64)


# Russell's circle drawn inside the square: a radius of 0.35 keeps the places
# between 0.15 and 0.85, where the catalog's songs are, and leaves room for the
# strategies' moves. Angles are counter-clockwise from "pleasant" (valence +1).
CIRCUMPLEX_RADIUS = 0.35


def circumplex_place(angle_degrees: float, radius: float = CIRCUMPLEX_RADIUS) -> MapPoint:
    """A point of Russell's circumplex (angle from the pleasure axis) on the 0..1 plane, to 3 decimals."""
    angle = math.radians(angle_degrees)
    return MapPoint.clipped(round(0.5 + radius * math.cos(angle), 3), round(0.5 + radius * math.sin(angle), 3))


# The emotions' default places. Angles are those of the matching affect words
# in Russell, J. A. (1980), "A circumplex model of affect", Journal of
# Personality and Social Psychology 39(6), 1161-1178, where a direct circular
# scaling placed 28 affect words around the circle (angles to the degree, as
# that scaling is usually quoted).
DEFAULT_PLACE_SOURCES: dict[str, str] = {
    "happy": "Russell (1980): 'happy' at 7.8°, pleasant and moderately aroused",
    "surprise": "Russell (1980): 'astonished' at 69.8°, high arousal, mildly pleasant",
    "angry": "Russell (1980): 'angry' at 99.0°, high arousal, unpleasant",
    "fear": "Russell (1980): 'afraid' at 116.3°, high arousal, unpleasant",
    "disgust": "Russell (1980) has no 'disgust': 150°, between 'annoyed' (123°) and 'miserable' (189°)",
    "sad": "Russell (1980): 'sad' at 207.5°, unpleasant, low arousal",
    "neutral": "the circumplex's centre: neither pleasant nor unpleasant, neither aroused nor sleepy",
}
DEFAULT_PLACES: dict[str, MapPoint] = {
    "happy": circumplex_place(7.8),
    "surprise": circumplex_place(69.8),
    "angry": circumplex_place(99.0),
    "fear": circumplex_place(116.3),
    "disgust": circumplex_place(150.0),
    "sad": circumplex_place(207.5),
    "neutral": MapPoint(0.5, 0.5),
}

# Where each strategy moves the point, as a unit direction; StrategyMove sets how far.
# Lift leans a quarter step toward energy (Russell's "delighted" side of "happy")
# and calm a quarter step toward low valence, because the catalogs' calm songs
# (acoustic, classical, ambient) sit low on Spotify's valence: a move straight down
# from an agitated face lands among sad songs before calm ones.
STRATEGY_DIRECTIONS: dict[str, tuple[float, float]] = {
    "match": (0.0, 0.0),
    "uplift": (0.97, 0.243),
    "calm": (-0.243, -0.97),
}
DEFAULT_MOVES: dict[str, float] = {"match": 0.0, "uplift": 0.5, "calm": 0.75}


def reading_point(probabilities: Mapping[str, float], places: Mapping[str, MapPoint] | None = None) -> MapPoint:
    """The probability-weighted mean of the emotions' places (the centre when nothing usable is given)."""
    places = places or DEFAULT_PLACES
    total = 0.0
    valence = energy = 0.0
    for emotion, probability in probabilities.items():
        place = places.get(emotion)
        if place is None or not _is_probability(probability) or probability <= 0:
            continue
        total += float(probability)
        valence += float(probability) * place.valence
        energy += float(probability) * place.energy
    if total <= 0:
        return MapPoint(0.5, 0.5)
    return MapPoint.clipped(valence / total, energy / total)


def strategy_target(point: MapPoint, *, strategy: str, amount: float | None = None) -> MapPoint:
    """The point moved by the strategy: `amount` along its direction, kept on the plane."""
    direction = STRATEGY_DIRECTIONS.get(strategy, (0.0, 0.0))
    step = DEFAULT_MOVES.get(strategy, 0.0) if amount is None else float(amount)
    return MapPoint.clipped(point.valence + step * direction[0], point.energy + step * direction[1])


def _is_probability(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= float(value) <= 1.0


# --- Regions -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MoodRegions:
    """The moods as Voronoi cells of their centroids on the plane."""

    mood_ids: tuple[int, ...]
    centroids: np.ndarray  # (k, 2) valence, energy

    def region_of(self, points: np.ndarray) -> np.ndarray:
        """(n,) index into mood_ids of the nearest centroid for each (valence, energy) row; -1 without moods."""
        # The catalog's rule, so that a song whose mood it filled in lies in that mood's region.
        return nearest_centroid(points, self.centroids if self.mood_ids else np.zeros((0, 2)))

    def mood_of(self, point: MapPoint) -> int | None:
        """The id of the mood whose region holds the point."""
        if not self.mood_ids:
            return None
        return self.mood_ids[int(self.region_of(point.as_array()[None, :])[0])]

    @classmethod
    def from_centres(cls, centres: Mapping[int, MapPoint]) -> "MoodRegions":
        """The regions of these centres (mood id -> point; catalog.selectors.mood_centres_get), by mood id."""
        mood_ids = tuple(sorted(centres))
        centroids = np.array([centres[mood_id].as_array() for mood_id in mood_ids], dtype=np.float64)
        return cls(mood_ids=mood_ids, centroids=centroids.reshape(-1, 2))


# --- Regions as polygons -----------------------------------------------------------------------------

# The cells and their checks are the catalog's (catalog.mood_regions, imported above): the map draws
# and checks the regions with the same code that gives songs their moods.


def polygon_centre(polygon: Polygon) -> tuple[float, float]:
    """The centre of mass of a polygon's area (the mean corner for a degenerate one)."""
    twice = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        cross = x0 * y1 - x1 * y0
        twice += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(twice) < 1e-12:
        count = max(1, len(polygon))
        return sum(x for x, _ in polygon) / count, sum(y for _, y in polygon) / count
    return cx / (3.0 * twice), cy / (3.0 * twice)


def region_problems(centres: Sequence[tuple[str, MapPoint]]) -> list[str]:
    """Sentences naming moods whose regions sit on top of each other or have (almost) no area; [] if fine."""
    return mood_regions.region_problems([(name, (centre.valence, centre.energy)) for name, centre in centres])


def nearest_emotion(point: MapPoint, places: Mapping[str, MapPoint] | None = None) -> str:
    """The emotion whose place is closest to the point (the context a rating made there is kept in)."""
    places = places or DEFAULT_PLACES
    return min(
        EMOTIONS,
        key=lambda emotion: math.dist(
            (point.valence, point.energy),
            (places.get(emotion, DEFAULT_PLACES[emotion]).valence, places.get(emotion, DEFAULT_PLACES[emotion]).energy),
        ),
    )


# The default moods' centres in the bundled catalog (the mean valence and energy of each mood's
# labelled songs in data_moods.csv). They stand in only while the catalog holds no labelled song:
# a fresh installation names moods before its songs are loaded.
DEFAULT_MOOD_CENTRES: dict[str, MapPoint] = {
    "happy": MapPoint(0.579, 0.752),
    "sad": MapPoint(0.289, 0.388),
    "calm": MapPoint(0.151, 0.156),
    "energetic": MapPoint(0.437, 0.884),
}


def default_regions(moods: Mapping[int, str]) -> MoodRegions:
    """Regions for the moods named like the defaults (mood id -> name, any case), at the default centres."""
    kept = sorted(
        (mood_id, DEFAULT_MOOD_CENTRES[name.lower()])
        for mood_id, name in moods.items()
        if name.lower() in DEFAULT_MOOD_CENTRES
    )
    return MoodRegions(
        mood_ids=tuple(mood_id for mood_id, _ in kept),
        centroids=np.array([[centre.valence, centre.energy] for _, centre in kept], dtype=np.float64).reshape(-1, 2),
    )


# --- Ranking -----------------------------------------------------------------------------------------

# The content score inside a region: the plane first, the other features lighter, a touch of
# popularity, and per-user variety so that two new users with the same reading do not get one list.
PLANE_WEIGHT = 0.6
FEATURE_WEIGHT = 0.2
POPULARITY_WEIGHT = 0.05
VARIETY_WEIGHT = 0.35
PLANE_SCALE = 0.25  # a song this far from the target on the plane keeps e^-1/2 of the plane term


def plane_closeness(plane: np.ndarray, target: MapPoint, scale: float | None = None) -> np.ndarray:
    """0..1 per song: a Gaussian of its distance to the target on the plane (PLANE_SCALE by default)."""
    scale = PLANE_SCALE if scale is None else scale
    difference = plane - np.array([target.valence, target.energy], dtype=plane.dtype)
    squared = np.einsum("ij,ij->i", difference, difference)
    return np.exp(-squared / (2.0 * scale * scale)).astype(np.float32)


def variety_noise(count: int, *, seed: int) -> np.ndarray:
    """0..1 per candidate, the same for one user (seed) every time."""
    return np.random.default_rng(seed).random(count, dtype=np.float32)


def steady_content(feature_closeness: np.ndarray, popularity: np.ndarray) -> np.ndarray:
    """The part of the content score that does not depend on the target: other features and popularity."""
    return (FEATURE_WEIGHT * feature_closeness + POPULARITY_WEIGHT * popularity).astype(np.float32)


def map_content(*, plane: np.ndarray, steady: np.ndarray, target: MapPoint, seed: int | None) -> np.ndarray:
    """The content score (about 0..1) of candidate songs: the plane, the steady part, per-user variety."""
    score = PLANE_WEIGHT * plane_closeness(plane, target) + steady
    if seed is not None and len(score):
        score += VARIETY_WEIGHT * variety_noise(len(score), seed=seed)
    return score


def jaccard(first: Sequence[int], second: Sequence[int]) -> float:
    """Shared ids over all ids of two lists (1.0 for two empty lists)."""
    a, b = set(first), set(second)
    return len(a & b) / len(a | b) if a | b else 1.0


# --- Words -------------------------------------------------------------------------------------------


def _level(value: float) -> str:
    return "low" if value < 0.4 else "high" if value > 0.6 else "middling"


def point_in_words(point: MapPoint) -> str:
    """ "low valence, middling energy"."""
    return f"{_level(point.valence)} valence, {_level(point.energy)} energy"
