"""Exploratory analysis of FER-2013 and of the song catalog: PNG charts and a markdown summary.

    python -m ml.training.eda --data "$FER_DATA" --catalog ../shared/datasets/spotify_moods/data_moods.csv \
        --out reports/eda
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from catalog.schema import AUDIO_FEATURES
from ml.runtime.labels import LABELS
from ml.training.data import Split, load_split

SAMPLES_PER_EMOTION = 8


def _save(figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_class_distribution(train: Split, test: Split, out: Path) -> None:
    train_counts, test_counts = train.counts(), test.counts()
    positions = np.arange(len(LABELS))
    figure, axis = plt.subplots(figsize=(9, 4.5))
    train_bars = axis.bar(positions - 0.2, [train_counts[k] for k in LABELS], 0.4, label="train", color="#2f6db5")
    test_bars = axis.bar(positions + 0.2, [test_counts[k] for k in LABELS], 0.4, label="test", color="#e08e2b")
    axis.bar_label(train_bars, fontsize=8)
    axis.bar_label(test_bars, fontsize=8)
    axis.set_xticks(positions, LABELS)
    axis.set_ylabel("images")
    axis.set_title("FER-2013 images per emotion")
    axis.legend()
    _save(figure, out / "class_distribution.png")

    figure, axes = plt.subplots(1, 2, figsize=(11, 5))
    for axis, counts, title in ((axes[0], train_counts, "train"), (axes[1], test_counts, "test")):
        axis.pie([counts[k] for k in LABELS], labels=LABELS, autopct="%1.1f%%", startangle=90, counterclock=False)
        axis.set_title(f"{title} ({sum(counts.values()):,} images)")
    _save(figure, out / "class_pie.png")


def plot_samples(split: Split, out: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    figure, axes = plt.subplots(
        len(LABELS), SAMPLES_PER_EMOTION, figsize=(SAMPLES_PER_EMOTION * 1.2, len(LABELS) * 1.3)
    )
    for row, label in enumerate(LABELS):
        members = np.flatnonzero(split.labels == row)
        chosen = rng.choice(members, size=min(SAMPLES_PER_EMOTION, len(members)), replace=False)
        for col in range(SAMPLES_PER_EMOTION):
            axis = axes[row, col]
            axis.axis("off")
            if col < len(chosen):
                axis.imshow(split.images[chosen[col]], cmap="gray", vmin=0, vmax=255)
        axes[row, 0].set_title(label, loc="left", fontsize=9)
    _save(figure, out / "samples.png")


def pixel_statistics(split: Split) -> dict[str, dict[str, float]]:
    """Per emotion: mean and standard deviation of pixel values, and of per-image brightness."""
    stats = {}
    for index, label in enumerate(LABELS):
        images = split.images[split.labels == index].astype(np.float32)
        per_image = images.mean(axis=(1, 2))
        stats[label] = {
            "pixel_mean": float(images.mean()),
            "pixel_std": float(images.std()),
            "image_brightness_std": float(per_image.std()),
            "image_contrast_mean": float(images.std(axis=(1, 2)).mean()),
        }
    return stats


def plot_pixel_statistics(train: Split, test: Split, out: Path) -> None:
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    bins = np.arange(257)
    for split, name in ((train, "train"), (test, "test")):
        counts, _ = np.histogram(split.images, bins=bins)
        axes[0].plot(bins[:-1], counts / counts.sum(), label=name)
    axes[0].set_title("pixel intensity distribution")
    axes[0].set_xlabel("intensity")
    axes[0].set_ylabel("fraction of pixels")
    axes[0].legend()
    brightness = [train.images[train.labels == i].mean(axis=(1, 2)) for i in range(len(LABELS))]
    axes[1].boxplot(brightness, tick_labels=LABELS, showfliers=False)
    axes[1].set_title("mean brightness per image, by emotion (train)")
    axes[1].set_ylabel("mean intensity")
    _save(figure, out / "pixel_intensity.png")

    figure, axes = plt.subplots(1, len(LABELS), figsize=(len(LABELS) * 1.6, 2.2))
    for index, (axis, label) in enumerate(zip(axes, LABELS, strict=True)):
        axis.imshow(train.images[train.labels == index].mean(axis=0), cmap="gray")
        axis.set_title(label, fontsize=9)
        axis.axis("off")
    figure.suptitle("average face per emotion (train)")
    _save(figure, out / "mean_faces.png")


def catalog_charts(catalog_path: Path, out: Path) -> dict:
    import pandas as pd

    songs = pd.read_csv(catalog_path)
    moods = songs["mood"].value_counts().sort_index()
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    bars = axes[0].bar(moods.index, moods.values, color="#2f6db5")
    axes[0].bar_label(bars)
    axes[0].set_title(f"songs per mood ({len(songs)} songs)")
    axes[1].pie(moods.values, labels=moods.index, autopct="%1.1f%%", startangle=90, counterclock=False)
    _save(figure, out / "catalog_moods.png")

    features = [f for f in AUDIO_FEATURES if f in songs.columns]
    columns = 3
    rows = -(-len(features) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(13, 3.2 * rows))
    for axis, feature in zip(axes.flat, features, strict=False):
        groups = [songs.loc[songs["mood"] == mood, feature].dropna() for mood in moods.index]
        axis.boxplot(groups, tick_labels=list(moods.index), showfliers=False)
        axis.set_title(feature)
    for axis in list(axes.flat)[len(features) :]:
        axis.axis("off")
    figure.suptitle("audio features by mood")
    _save(figure, out / "catalog_features_by_mood.png")

    numeric = songs[[*features, "popularity", "length"]].apply(pd.to_numeric, errors="coerce")
    correlation = numeric.corr()
    figure, axis = plt.subplots(figsize=(8, 7))
    image = axis.imshow(correlation.values, cmap="RdBu_r", vmin=-1, vmax=1)
    axis.set_xticks(range(len(correlation)), correlation.columns, rotation=45, ha="right")
    axis.set_yticks(range(len(correlation)), correlation.columns)
    for row in range(len(correlation)):
        for col in range(len(correlation)):
            axis.text(col, row, f"{correlation.values[row, col]:.2f}", ha="center", va="center", fontsize=7)
    figure.colorbar(image, ax=axis, fraction=0.046)
    axis.set_title("correlation of the audio features")
    _save(figure, out / "catalog_correlation.png")

    means = songs.groupby("mood")[features].mean().round(3)
    return {"songs": len(songs), "moods": moods.to_dict(), "feature_means": means, "correlation": correlation}


def write_summary(out: Path, train: Split, test: Split, reports: list, stats: dict, catalog: dict | None) -> None:
    train_counts, test_counts = train.counts(), test.counts()
    largest = max(train_counts.values())
    lines = [
        "# Exploratory data analysis",
        "",
        "Written by `python -m ml.training.eda`.",
        "",
        "## FER-2013",
        "",
        f"{len(train):,} train and {len(test):,} test images, 48x48 grayscale.",
        "",
        "| emotion | train | test | train share | imbalance (largest / this) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label in LABELS:
        lines.append(
            f"| {label} | {train_counts[label]:,} | {test_counts[label]:,} | {train_counts[label] / len(train):.1%}"
            f" | {largest / max(1, train_counts[label]):.1f}x |"
        )
    lines += [
        "",
        "Disgust is the rare class (about 16 times fewer images than happy): training weights classes by the"
        " square root of their inverse frequency by default (`--balance sqrt-weights`; `weights` and"
        " `oversample` are the alternatives), and the evaluation reports every class's recall.",
        "",
        "![class distribution](class_distribution.png)",
        "",
        "![class shares](class_pie.png)",
        "",
        "### Image checks",
        "",
    ]
    for report in reports:
        problems: dict[str, int] = {}
        for anomaly in report.anomalies:
            problems[anomaly.problem] = problems.get(anomaly.problem, 0) + 1
        found = "; ".join(f"{count} image(s) {problem}" for problem, count in problems.items()) or "none"
        lines.append(f"- {report.split}: every image decoded and checked (48x48, grayscale); anomalies: {found}.")
        lines += [f"  - `{Path(a.path).parent.name}/{Path(a.path).name}`: {a.problem}" for a in report.anomalies]
    lines += [
        "",
        "### Samples and pixel statistics",
        "",
        "![samples per emotion](samples.png)",
        "",
        "| emotion | pixel mean | pixel std | std of per-image brightness | mean per-image contrast |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, row in stats.items():
        lines.append(
            f"| {label} | {row['pixel_mean']:.1f} | {row['pixel_std']:.1f} | {row['image_brightness_std']:.1f}"
            f" | {row['image_contrast_mean']:.1f} |"
        )
    lines += [
        "",
        "Brightness varies far more between images than between emotions, which is why training augments"
        " brightness and the model normalises its input.",
        "",
        "![pixel intensity](pixel_intensity.png)",
        "",
        "![average faces](mean_faces.png)",
    ]
    if catalog is not None:
        lines += ["", "## Song catalog", "", f"{catalog['songs']} songs.", "", "| mood | songs |", "| --- | ---: |"]
        lines += [f"| {mood} | {count} |" for mood, count in catalog["moods"].items()]
        means = catalog["feature_means"]
        lines += ["", "Mean audio features per mood:", "", "| mood | " + " | ".join(means.columns) + " |"]
        lines.append("| --- |" + " ---: |" * len(means.columns))
        for mood, row in means.iterrows():
            lines.append(f"| {mood} | " + " | ".join(f"{value:.3f}" for value in row.values) + " |")
        correlation = catalog["correlation"]
        pairs = [
            (abs(correlation.iloc[i, j]), correlation.columns[i], correlation.columns[j], correlation.iloc[i, j])
            for i in range(len(correlation))
            for j in range(i + 1, len(correlation))
        ]
        strongest = sorted(pairs, reverse=True)[:4]
        lines += ["", "Strongest feature correlations: " + ", ".join(f"{a}/{b} {r:+.2f}" for _, a, b, r in strongest)]
        lines += [
            "",
            "![moods](catalog_moods.png)",
            "",
            "![features by mood](catalog_features_by_mood.png)",
            "",
            "![correlation](catalog_correlation.png)",
        ]
    (out / "summary.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ml.training.eda", description="Charts and a summary of the data.")
    parser.add_argument("--data", required=True, help="FER-2013 folder holding train/ and test/")
    parser.add_argument("--catalog", default=None, help="the song catalog CSV (data_moods.csv)")
    parser.add_argument("--out", default="reports/eda")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train, train_report = load_split(args.data, "train")
    test, test_report = load_split(args.data, "test")
    plot_class_distribution(train, test, out)
    plot_samples(train, out)
    stats = pixel_statistics(train)
    plot_pixel_statistics(train, test, out)
    catalog = catalog_charts(Path(args.catalog), out) if args.catalog else None
    write_summary(out, train, test, [train_report, test_report], stats, catalog)
    print(f"Wrote {out / 'summary.md'} and {len(list(out.glob('*.png')))} charts.")


if __name__ == "__main__":
    main()
