from pathlib import Path

import pytest

from detection.models import DetectionStatus
from ml.runtime.labels import LABELS
from tests.factories import DetectionFactory, MoodFactory, OutcomeFactory, RatingFactory, SongFactory


@pytest.fixture
def footprint(settings):
    """Everything a user leaves behind: two detections with photos and ratings."""

    def make(user) -> dict:
        detections = DetectionFactory.create_batch(2, finished=True, user=user)
        photos = [Path(settings.MEDIA_ROOT) / detection.image.name for detection in detections]
        ratings = [RatingFactory(user=user, detection=detections[0]), RatingFactory(user=user)]
        return {"detections": detections, "photos": photos, "ratings": ratings}

    return make


@pytest.fixture
def history():
    """A user's full history for the export: results, a correction, a failure, an outcome and ratings."""

    def make(user) -> dict:
        MoodFactory(name="Happy")  # the mood is computed: happy under "match" is Happy
        shares = {label: 0.04 for label in LABELS} | {"happy": 0.76}
        done = DetectionFactory(finished=True, user=user, shares=shares, box=[10, 20, 30, 40], size=(640, 480))
        corrected = DetectionFactory(
            user=user, status=DetectionStatus.DONE, emotion="sad", confidence=0.4, corrected_emotion="angry"
        )
        failed = DetectionFactory(failed=True, user=user, error="That file is not a photo.")
        outcome = OutcomeFactory(detection=done, strategy="uplift", mood_before=2, mood_after=4)
        songs = [SongFactory(), SongFactory()]
        ratings = [
            RatingFactory(user=user, song=songs[0], detection=done, emotion="happy", score=5),
            RatingFactory(user=user, song=songs[1], score=2),
        ]
        return {
            "detections": [done, corrected, failed],
            "done": done,
            "corrected": corrected,
            "outcome": outcome,
            "songs": songs,
            "ratings": ratings,
        }

    return make


# A moment that starts a window of every login and sign-up limit (15 minutes,
# 1 hour), so the clock below knows exactly how long a refusal lasts.
WINDOW_START = 1_800_000_000


class FrozenClock:
    """Stands in for the time module inside emomusic_site.ratelimit."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> FrozenClock:
    """Freeze the rate limiter's clock 100 s into a window: a real window boundary mid-test would reset the counts."""
    from emomusic_site import ratelimit

    frozen = FrozenClock(WINDOW_START + 100)
    monkeypatch.setattr(ratelimit, "time", frozen)
    return frozen


@pytest.fixture
def limits(db, settings, clock):
    """Set small limits, e.g. limits(login_address=2); the windows stay the real ones."""
    settings.RATE_LIMITS_ENABLED = True

    def set_limits(**counts: int) -> None:
        settings.RATE_LIMITS = {
            **settings.RATE_LIMITS,
            **{scope: (count, settings.RATE_LIMITS[scope][1]) for scope, count in counts.items()},
        }

    return set_limits
