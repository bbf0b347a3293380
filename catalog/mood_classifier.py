"""A scikit-learn mood classifier over the audio features (no Django): the yardstick for the mood regions.

A song without a mood gets its region's mood on the mood map
(`catalog.mood_regions`), so that the mood a song is tagged with is the mood
of the place it has on the map. This classifier, trained on every audio
feature and popularity (`catalog.schema.MOOD_CLASSIFIER_FEATURES`), reads more
than valence and energy and agrees with the labels more often; `reports/catalog.md`
(`manage.py catalog_report`) sets its cross-validated accuracy beside the
regions' agreement. Two candidate models are compared by stratified
cross-validation and the better one is kept.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

MIN_SONGS_PER_MOOD = 5


def _candidates(seed: int) -> "dict[str, Pipeline]":
    # Imported here: scikit-learn takes seconds to import, and most imports of
    # this module (every import of a CSV) find that nothing needs training.
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "logistic regression": make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)),
        # One thread: the web server and worker share a small machine, and
        # OpenMP-threaded boosters slowed to minutes there for no accuracy gain.
        "random forest": make_pipeline(
            StandardScaler(),
            RandomForestClassifier(n_estimators=120, min_samples_leaf=2, n_jobs=1, random_state=seed),
        ),
    }


@dataclass(frozen=True)
class TrainedClassifier:
    model: "Pipeline"
    name: str
    cv_accuracy: dict[str, tuple[float, float]]  # model name -> (mean, std) over the folds
    folds: int
    training_songs: int
    classes: list[str]
    majority_share: float  # accuracy of always answering the most common mood

    @property
    def accuracy(self) -> float:
        return self.cv_accuracy[self.name][0]

    def predict(self, features: np.ndarray) -> np.ndarray:
        return self.model.predict(features)


def train(features: np.ndarray, labels: np.ndarray, *, seed: int = 0) -> TrainedClassifier | None:
    """Cross-validate the candidates, refit the best on every labelled song; None when there is too little to learn."""
    classes, counts = np.unique(labels, return_counts=True)
    keep = np.isin(labels, classes[counts >= MIN_SONGS_PER_MOOD])
    features, labels = features[keep], labels[keep]
    classes = np.unique(labels)
    if len(classes) < 2:
        return None
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    folds = int(min(5, np.unique(labels, return_counts=True)[1].min()))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores: dict[str, tuple[float, float]] = {}
    candidates = _candidates(seed)
    for name, model in candidates.items():
        fold_scores = cross_val_score(model, features, labels, cv=splitter, scoring="accuracy")
        scores[name] = (float(fold_scores.mean()), float(fold_scores.std()))
    best = max(scores, key=lambda name: scores[name][0])
    model = candidates[best].fit(features, labels)
    return TrainedClassifier(
        model=model,
        name=best,
        cv_accuracy=scores,
        folds=folds,
        training_songs=len(labels),
        classes=[str(label) for label in classes],
        majority_share=float(np.unique(labels, return_counts=True)[1].max() / len(labels)),
    )
