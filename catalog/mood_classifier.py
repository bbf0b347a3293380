"""A scikit-learn mood classifier over the audio features (no Django).

Trained on the songs whose mood was given (`catalog.selectors.mood_training_set`,
over `catalog.schema.MOOD_CLASSIFIER_FEATURES`), it labels the songs an import
brought in without one (`catalog.services.moods_fill_missing`). Two candidate
models are compared by stratified cross-validation and the better one is kept.

It is the catalog's one way of guessing a missing mood. The recommender
guesses none of its own: a predicted mood is stored, shown and filterable
like a given one, an admin can see it (`mood_predicted`) and correct it, and
it was measured (`reports/recommender_mood_classifier.md`); a guess made at
request time would be none of these.
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
