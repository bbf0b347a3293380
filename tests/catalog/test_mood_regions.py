"""The moods as regions of valence x energy (no database)."""

import numpy as np
import pytest

from catalog.mood_regions import RegionRule, agreement, cross_validated_agreement, nearest_centroid


def test_each_point_takes_the_nearest_centroid():
    centroids = np.array([[0.2, 0.1], [0.8, 0.8]])

    assert nearest_centroid(np.array([[0.0, 0.0], [0.6, 0.5], [0.45, 0.3]]), centroids).tolist() == [0, 1, 0]


def test_without_centroids_no_point_has_a_region():
    assert nearest_centroid(np.array([[0.5, 0.5]]), np.zeros((0, 2))).tolist() == [-1]


def test_the_rule_learns_each_moods_centroid_from_its_labelled_songs():
    rule = RegionRule.from_labelled(np.array([[0.1, 0.1], [0.3, 0.1], [0.8, 0.8]]), ["Calm", "Calm", "Happy"])

    assert rule.moods == ("Calm", "Happy")
    assert rule.centroids.ravel().tolist() == pytest.approx([0.2, 0.1, 0.8, 0.8])
    assert rule.predict(np.array([[0.45, 0.3], [0.55, 0.6]])) == ["Calm", "Happy"]


def test_a_rule_without_moods_refuses_to_guess():
    with pytest.raises(ValueError, match="No labelled songs"):
        RegionRule.from_labelled(np.zeros((0, 2)), []).predict(np.array([[0.5, 0.5]]))


def test_agreement_is_the_share_of_songs_whose_region_is_their_label():
    assert agreement(["Calm", "Happy", "Sad", "Sad"], ["Calm", "Sad", "Sad", "Sad"]) == 0.75


def test_cross_validation_holds_every_song_out_once_and_scores_each_fold():
    rng = np.random.default_rng(1)
    # Two well-apart clouds of 20 songs each, and one Calm song placed among the Happy ones.
    plane = np.vstack([rng.normal(0.2, 0.03, (20, 2)), rng.normal(0.8, 0.03, (20, 2)), [[0.8, 0.8]]])
    labels = ["Calm"] * 20 + ["Happy"] * 20 + ["Calm"]

    scores = cross_validated_agreement(plane, labels, folds=5, seed=0)

    assert len(scores) == 5
    # 40 of 41 held-out songs are in their own cloud's region; the misplaced one never is.
    assert np.mean(scores) == pytest.approx(40 / 41, abs=0.01)
    assert cross_validated_agreement(plane, labels, folds=5, seed=0) == scores
