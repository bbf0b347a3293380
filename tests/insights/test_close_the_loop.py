"""The loop end to end through the API: a correction changes the songs, corrections calibrate only their user."""

import pytest

from detection.calibration import MIN_CORRECTIONS, calibrated_probabilities_for, calibration_for
from ml.runtime.labels import LABELS
from tests.factories import DetectionFactory
from tests.recommendations.conftest import load_seed_songs

RECOMMENDATIONS = "/api/recommendations/"


def reading(top: str, share: float = 0.7) -> dict[str, float]:
    rest = (1 - share) / (len(LABELS) - 1)
    return {label: share if label == top else rest for label in LABELS}


def done(user, emotion: str):
    return DetectionFactory(finished=True, user=user, shares=reading(emotion), box=[0, 0, 50, 50])


@pytest.mark.django_db
def test_a_correction_changes_the_recommendations(api_client, user):
    load_seed_songs()
    detection = done(user, "happy")

    before = api_client.get(RECOMMENDATIONS, {"detection": detection.pk, "limit": 10}).json()
    corrected = api_client.post(f"/api/detections/{detection.pk}/correct/", {"emotion": "sad"}, format="json")
    after = api_client.get(RECOMMENDATIONS, {"detection": detection.pk, "limit": 10}).json()

    assert corrected.status_code == 200 and corrected.json()["corrected_emotion"] == "sad"
    assert corrected.json()["emotion"] == "happy"  # the model's guess stays beside the correction
    assert (before["emotion"], before["mood"]) == ("happy", "Happy")
    assert (after["emotion"], after["mood"]) == ("sad", "Sad")
    songs_before = {row["song"]["id"] for row in before["results"]}
    songs_after = {row["song"]["id"] for row in after["results"]}
    assert songs_before and songs_after and songs_before != songs_after
    assert all(row["song"]["mood"] == "Sad" for row in after["results"][:5])


@pytest.mark.django_db
def test_corrections_through_the_api_calibrate_only_their_user(api_client, user, other_user):
    for _ in range(MIN_CORRECTIONS):
        detection = done(user, "neutral")
        response = api_client.post(f"/api/detections/{detection.pk}/correct/", {"emotion": "sad"}, format="json")
        assert response.status_code == 200
    done(other_user, "neutral")
    new_reading = {**dict.fromkeys(LABELS, 0.04), "neutral": 0.45, "sad": 0.35}  # sums to 1

    mine = calibrated_probabilities_for(user=user, probabilities=new_reading)
    theirs = calibrated_probabilities_for(user=other_user, probabilities=new_reading)

    assert calibration_for(user=user).corrections == MIN_CORRECTIONS
    assert mine["sad"] > new_reading["sad"] and mine["neutral"] < new_reading["neutral"]
    assert theirs == new_reading and not calibration_for(user=other_user).active
