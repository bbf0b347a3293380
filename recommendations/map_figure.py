"""The mood map drawn for a page: where each mark goes in the SVG and the words a screen reader reads.
NumPy, no Django; the template `recommendations/_mood_map.html` writes the SVG from a `MapFigure`.

The catalog is drawn as at most SAMPLE_SIZE faint dots, one path for all of them: a page with one
element per song would weigh megabytes at 28,000 songs and more.
"""

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recommendations.engine import Catalog
from recommendations.map_ranking import catalog_plane
from recommendations.mood_map import MapPoint, point_in_words, polygon_centre, region_polygons

SAMPLE_SIZE = 600
SAMPLE_SEED = 20260  # a fixed seed: the same catalog draws the same dots on every page

# The SVG's user units: the plot is a PLOT_SIZE square with room for the axes' words on the left and below.
PLOT_LEFT = 26.0
PLOT_TOP = 6.0
PLOT_SIZE = 300.0
VIEW_WIDTH = PLOT_LEFT + PLOT_SIZE + 6.0
VIEW_HEIGHT = PLOT_TOP + PLOT_SIZE + 26.0
DOT_RADIUS = 1.4
LABEL_OFFSET = 10.0
LABEL_CHAR_WIDTH = 7.5  # about the width of one character of a 13px bold label, to keep labels inside

_lock = threading.Lock()
_sample: tuple[Catalog, int, np.ndarray] | None = None


def catalog_sample(catalog: Catalog, limit: int = SAMPLE_SIZE) -> np.ndarray:
    """(k, 2) valence and energy of at most `limit` songs, drawn once per catalog matrix with a fixed seed."""
    global _sample
    cached = _sample
    if cached is not None and cached[0] is catalog and cached[1] == limit:
        return cached[2]
    with _lock:
        plane = catalog_plane(catalog) if catalog.size else np.zeros((0, 2), dtype=np.float32)
        if len(plane) > limit:
            rows = np.sort(np.random.default_rng(SAMPLE_SEED).choice(len(plane), size=limit, replace=False))
            plane = plane[rows]
        _sample = (catalog, limit, plane)
        return plane


def to_svg(valence: float, energy: float) -> tuple[float, float]:
    """A point of the plane in the SVG's units (energy grows upward)."""
    return round(PLOT_LEFT + valence * PLOT_SIZE, 1), round(PLOT_TOP + (1.0 - energy) * PLOT_SIZE, 1)


def to_plane(x: float, y: float) -> MapPoint:
    """The inverse of to_svg, kept on the plane."""
    return MapPoint.clipped((x - PLOT_LEFT) / PLOT_SIZE, 1.0 - (y - PLOT_TOP) / PLOT_SIZE)


@dataclass(frozen=True)
class FigureRegion:
    name: str
    corners: str  # the SVG polygon's points
    label_x: float
    label_y: float


@dataclass(frozen=True)
class FigureMark:
    """A labelled point: the reading or the target."""

    x: float
    y: float
    label: str
    label_x: float
    label_y: float
    anchor: str  # "start" or "end": labels right of the middle read leftward, so they stay inside


@dataclass(frozen=True)
class FigureSong:
    song_id: int
    name: str
    x: float
    y: float


@dataclass(frozen=True)
class MapFigure:
    view_box: str
    plot_left: float
    plot_top: float
    plot_size: float
    dots: str  # one path drawing every sampled song as a small circle
    dot_count: int
    catalog_size: int
    regions: list[FigureRegion]
    point: FigureMark | None
    target: FigureMark | None
    arrow: tuple[float, float, float, float] | None  # x1, y1, x2, y2 from the point to the target
    songs: list[FigureSong]
    description: str  # what a screen reader reads for the picture
    valence_axis: tuple[float, float] = (PLOT_LEFT + PLOT_SIZE / 2, PLOT_TOP + PLOT_SIZE + 19)  # its words' place
    energy_axis: tuple[float, float] = (PLOT_LEFT - 10, PLOT_TOP + PLOT_SIZE / 2)  # turned a quarter left


def _mark(point: MapPoint, label: str, *, away_from: MapPoint | None = None) -> FigureMark:
    """The mark and its label, put on the side away from the other mark (the arrow runs between them)
    and kept inside the plot."""
    x, y = to_svg(point.valence, point.energy)
    if away_from is None or away_from == point:
        leftward, above = point.valence > 0.5, True
    else:
        leftward, above = away_from.valence > point.valence, away_from.energy <= point.energy
    width = LABEL_CHAR_WIDTH * len(label)
    if leftward and x - LABEL_OFFSET - width < PLOT_LEFT:
        leftward = False
    elif not leftward and x + LABEL_OFFSET + width > PLOT_LEFT + PLOT_SIZE:
        leftward = True
    label_x = x - LABEL_OFFSET if leftward else x + LABEL_OFFSET
    label_y = y - LABEL_OFFSET if above else y + LABEL_OFFSET + 8
    # A label above the top edge or below the bottom one goes to the other side.
    if label_y < PLOT_TOP + 12:
        label_y = y + LABEL_OFFSET + 8
    if label_y > PLOT_TOP + PLOT_SIZE - 4:
        label_y = y - LABEL_OFFSET
    return FigureMark(
        x=x,
        y=y,
        label=label,
        label_x=round(label_x, 1),
        label_y=round(label_y, 1),
        anchor="end" if leftward else "start",
    )


def _dots_path(sample: np.ndarray) -> str:
    parts = []
    for valence, energy in np.asarray(sample, dtype=np.float64).reshape(-1, 2):
        x, y = to_svg(float(valence), float(energy))
        # A circle as two half arcs, so that one path holds every dot.
        parts.append(f"M{x - DOT_RADIUS:.1f} {y}a{DOT_RADIUS} {DOT_RADIUS} 0 1 0 {2 * DOT_RADIUS:.1f} 0")
        parts.append(f"a{DOT_RADIUS} {DOT_RADIUS} 0 1 0 -{2 * DOT_RADIUS:.1f} 0")
    return "".join(parts)


def map_figure(
    *,
    sample: np.ndarray,
    catalog_size: int,
    regions: Sequence[tuple[str, MapPoint]],
    point: MapPoint | None = None,
    target: MapPoint | None = None,
    point_label: str = "Your reading",
    strategy_label: str = "",
    mood_name: str | None = None,
    songs: Sequence[tuple[int, str, MapPoint]] = (),
) -> MapFigure:
    """Everything the template draws: the sampled catalog, the regions (named), the point and the target
    with an arrow between them, the listed songs, and the description read in place of the picture."""
    cells = region_polygons(np.array([[centre.valence, centre.energy] for _, centre in regions], dtype=np.float64))
    figure_regions = []
    for (name, _), cell in zip(regions, cells, strict=True):
        if len(cell) < 3:
            continue
        label_x, label_y = to_svg(*polygon_centre(cell))
        corners = " ".join("{},{}".format(*to_svg(x, y)) for x, y in cell)
        figure_regions.append(FigureRegion(name=name, corners=corners, label_x=label_x, label_y=label_y))
    moved = point is not None and target is not None and point != target
    point_mark = _mark(point, point_label, away_from=target if moved else None) if point is not None else None
    target_mark = _mark(target, strategy_label or "Target", away_from=point) if moved else None
    arrow = None
    if moved and point_mark and target_mark:
        # Stopped short of the target's ring, so the arrowhead stays visible.
        dx, dy = target_mark.x - point_mark.x, target_mark.y - point_mark.y
        length = max(float(np.hypot(dx, dy)), 1e-9)
        shorten = min(9.0, length / 2) / length
        end_x, end_y = round(target_mark.x - dx * shorten, 1), round(target_mark.y - dy * shorten, 1)
        arrow = (point_mark.x, point_mark.y, end_x, end_y)
    figure_songs = [FigureSong(song_id, name, *to_svg(place.valence, place.energy)) for song_id, name, place in songs]
    return MapFigure(
        view_box=f"0 0 {VIEW_WIDTH:g} {VIEW_HEIGHT:g}",
        plot_left=PLOT_LEFT,
        plot_top=PLOT_TOP,
        plot_size=PLOT_SIZE,
        dots=_dots_path(sample),
        dot_count=len(sample),
        catalog_size=catalog_size,
        regions=figure_regions,
        point=point_mark,
        target=target_mark,
        arrow=arrow,
        songs=figure_songs,
        description=map_in_words(
            regions=[name for name, _ in regions],
            point=point,
            target=target,
            point_label=point_label,
            strategy_label=strategy_label,
            mood_name=mood_name,
            song_count=len(songs),
            dot_count=len(sample),
            catalog_size=catalog_size,
        ),
    )


def map_in_words(
    *,
    regions: Sequence[str],
    point: MapPoint | None,
    target: MapPoint | None,
    point_label: str,
    strategy_label: str,
    mood_name: str | None,
    song_count: int,
    dot_count: int,
    catalog_size: int,
) -> str:
    """ "Your reading: low valence, middling energy. Lift my mood moves it to Happy. ..." """
    sentences = [
        "Valence (sad to happy) runs left to right, energy (calm to energetic) bottom to top."
        + (f" Its regions: {', '.join(regions)}." if regions else "")
    ]
    if point is not None:
        sentences.append(f"{point_label}: {point_in_words(point)}.")
        if target is not None and mood_name:
            if point == target:
                sentences.append(f"{strategy_label or 'The strategy'} keeps it in {mood_name}.")
            else:
                sentences.append(
                    f"{strategy_label or 'The strategy'} moves it to {mood_name} ({point_in_words(target)})."
                )
    if song_count:
        sentences.append(f"The {song_count} songs listed are highlighted.")
    if dot_count:
        shown = (
            "every song of the catalog"
            if dot_count >= catalog_size
            else (f"{dot_count:,} of the catalog's {catalog_size:,} songs")
        )
        sentences.append(f"Faint dots show {shown}.")
    return " ".join(sentences)
