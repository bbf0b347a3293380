"""The history page's and the dashboard's numbers, checked against hand-computed values."""

from datetime import UTC, date, datetime, timedelta

import pytest

from accounts.models import Strategy
from detection.models import Detection, DetectionStatus
from insights import selectors
from ml.runtime.labels import LABELS
from tests.factories import (
    DetectionFactory,
    MoodFactory,
    OutcomeFactory,
    RatingFactory,
    SongFactory,
    UserFactory,
    probabilities,
)

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 25)  # a Wednesday


def done(user, emotion: str, corrected: str = "", *, when: datetime | None = None, confidence: float = 0.5):
    shares = probabilities(**{emotion: confidence})
    detection = DetectionFactory(finished=True, user=user, shares=shares, corrected_emotion=corrected)
    if when is not None:
        Detection.objects.filter(pk=detection.pk).update(created=when)
    return detection


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


# --- Distribution and timeline ----------------------------------------------------------


def test_distribution_counts_the_accepted_emotion_of_finished_detections_only(user, other_user):
    done(user, "happy")
    done(user, "happy")
    done(user, "neutral", corrected="sad")
    DetectionFactory(user=user, status=DetectionStatus.NO_FACE)
    done(other_user, "angry")

    shares = {share.emotion: share for share in selectors.emotion_distribution_for(user=user)}

    assert list(shares) == list(LABELS)
    assert (shares["happy"].count, shares["happy"].percent) == (2, 66.7)
    assert (shares["sad"].count, shares["sad"].percent) == (1, 33.3)
    assert shares["neutral"].count == 0 and shares["angry"].count == 0


def test_distribution_of_nothing_is_all_zero(user):
    assert all(share.count == 0 and share.percent == 0 for share in selectors.emotion_distribution_for(user=user))


def test_daily_timeline_fills_empty_days_and_counts_per_day(user, other_user):
    done(user, "happy", when=at(TODAY))
    done(user, "neutral", corrected="sad", when=at(TODAY))
    done(user, "fear", when=at(TODAY - timedelta(days=2)))
    done(user, "angry", when=at(TODAY - timedelta(days=30)))  # before the 30-day window
    done(other_user, "happy", when=at(TODAY))

    points = selectors.emotion_timeline_for(user=user, period="day", today=TODAY)

    assert len(points) == 30
    assert points[0].start == TODAY - timedelta(days=29) and points[-1].start == TODAY
    assert points[-1].counts["happy"] == 1 and points[-1].counts["sad"] == 1 and points[-1].total == 2
    assert points[-3].counts["fear"] == 1 and points[-3].total == 1
    assert sum(point.total for point in points) == 3


def test_weekly_timeline_groups_by_monday(user):
    monday = TODAY - timedelta(days=TODAY.weekday())
    done(user, "happy", when=at(monday))
    done(user, "happy", when=at(TODAY))
    done(user, "sad", when=at(monday - timedelta(days=1)))  # the Sunday before: last week

    points = selectors.emotion_timeline_for(user=user, period="week", today=TODAY)

    assert len(points) == 12
    assert points[-1].start == monday and points[-1].counts["happy"] == 2
    assert points[-2].start == monday - timedelta(days=7) and points[-2].counts["sad"] == 1


def test_timeline_refuses_an_unknown_period(user):
    with pytest.raises(ValueError):
        selectors.emotion_timeline(Detection.objects.none(), period="month")


# --- Loved songs and outcomes -------------------------------------------------------------------


def test_loved_songs_are_grouped_by_mood_best_first_each_once(user, other_user):
    happy, calm = MoodFactory(name="Happy"), MoodFactory(name="Calm")
    sunny = SongFactory(name="Sunny", mood=happy)
    brisk = SongFactory(name="Brisk", mood=happy)
    still = SongFactory(name="Still", mood=calm)
    RatingFactory(user=user, song=sunny, score=4)
    RatingFactory(user=user, song=brisk, score=5)
    RatingFactory(user=user, song=brisk, score=4, detection=done(user, "happy"))  # same song in another context
    RatingFactory(user=user, song=still, score=3)  # liked, not loved
    RatingFactory(user=other_user, song=still, score=5)

    groups = selectors.loved_songs_by_mood_for(user=user)

    assert [group.mood for group in groups] == ["Happy"]
    assert [(loved.song.name, loved.score) for loved in groups[0].songs] == [("Brisk", 5), ("Sunny", 4)]


def test_user_outcomes_mean_change_and_per_strategy(user, other_user):
    OutcomeFactory(detection=done(user, "sad"), strategy=Strategy.UPLIFT, mood_before=1, mood_after=4)  # +3
    OutcomeFactory(detection=done(user, "sad"), strategy=Strategy.MATCH, mood_before=3, mood_after=2)  # -1
    OutcomeFactory(detection=done(user, "happy"), strategy=Strategy.UPLIFT, mood_before=4, mood_after=5)  # +1
    OutcomeFactory(detection=done(other_user, "sad"), strategy=Strategy.UPLIFT, mood_before=5, mood_after=1)

    result = selectors.outcomes_for(user=user)

    assert result.count == 3
    assert result.mean_change == pytest.approx(1.0)  # (3 - 1 + 1) / 3
    by_strategy = {stats.strategy: stats for stats in result.by_strategy}
    assert set(by_strategy) == {"uplift", "match"}
    assert by_strategy["uplift"].count == 2 and by_strategy["uplift"].mean_change == pytest.approx(2.0)
    assert by_strategy["uplift"].mean_before == pytest.approx(2.5)
    assert by_strategy["match"].mean_change == pytest.approx(-1.0)
    assert {outcome.detection.user_id for outcome in result.outcomes} == {user.pk}


def test_user_without_outcomes(user):
    result = selectors.outcomes_for(user=user)
    assert (result.count, result.mean_change, result.outcomes, result.by_strategy) == (0, None, [], [])


# --- The dashboard ------------------------------------------------------------------------------


def test_outcomes_per_strategy_and_emotion_for_everyone(user, other_user):
    OutcomeFactory(detection=done(user, "neutral", corrected="sad"), strategy="uplift", mood_before=2, mood_after=4)
    OutcomeFactory(detection=done(other_user, "sad"), strategy="uplift", mood_before=2, mood_after=3)
    OutcomeFactory(detection=done(other_user, "happy"), strategy="calm", mood_before=4, mood_after=3)
    outcomes = selectors.Outcome.objects.all()

    stats = {row.strategy: row for row in selectors.outcome_stats_by_strategy(outcomes)}
    cells = selectors.outcome_changes_by_strategy_and_emotion(outcomes)

    assert stats["uplift"].count == 2 and stats["uplift"].mean_change == pytest.approx(1.5)
    assert stats["calm"].count == 1 and stats["calm"].mean_change == pytest.approx(-1.0)
    assert stats["match"].count == 0 and stats["match"].mean_change is None
    uplift = {cell.emotion: cell for cell in cells["uplift"]}
    assert uplift["sad"].count == 2 and uplift["sad"].mean_change == pytest.approx(1.5)  # the correction counts
    assert uplift["neutral"].count == 0 and uplift["neutral"].mean_change is None


def test_detections_per_day_counts_every_upload(user, other_user):
    done(user, "happy", when=at(TODAY))
    DetectionFactory(user=other_user, status=DetectionStatus.FAILED)
    Detection.objects.filter(status=DetectionStatus.FAILED).update(created=at(TODAY, 8))
    done(user, "sad", when=at(TODAY - timedelta(days=3)))

    days = selectors.detections_per_day(days=7, today=TODAY)

    assert [day.day for day in days] == [TODAY - timedelta(days=6 - i) for i in range(7)]
    assert [day.count for day in days] == [0, 0, 0, 1, 0, 0, 2]


def test_confidence_histogram_bins(user):
    for confidence in (0.05, 0.15, 0.19, 0.5, 0.99, 1.0):
        done(user, "happy", confidence=confidence)
    DetectionFactory(user=user, status=DetectionStatus.FAILED)

    bins = selectors.confidence_histogram(bins=10)

    assert [round(b.low, 1) for b in bins] == [i / 10 for i in range(10)]
    assert [b.count for b in bins] == [1, 2, 0, 0, 0, 1, 0, 0, 0, 2]


def test_correction_rates_and_confusion_matrix(user, other_user):
    done(user, "neutral", corrected="sad")
    done(user, "neutral", corrected="sad")
    done(other_user, "neutral")
    done(other_user, "neutral", corrected="neutral")  # re-picked what was shown: not a correction
    done(user, "happy")
    done(user, "angry", corrected="disgust")

    rates = {row.emotion: row for row in selectors.correction_rates()}
    confusion = selectors.correction_confusion()

    assert (rates["neutral"].detections, rates["neutral"].corrected, rates["neutral"].rate) == (4, 2, 0.5)
    assert rates["happy"].rate == 0 and rates["sad"].rate is None
    n, s, a, d, h = (LABELS.index(x) for x in ("neutral", "sad", "angry", "disgust", "happy"))
    assert confusion.counts[n][s] == 2 and confusion.counts[n][n] == 2
    assert confusion.counts[a][d] == 1 and confusion.counts[h][h] == 1
    assert (confusion.total, confusion.agreed) == (6, 3)
    assert confusion.accuracy == pytest.approx(0.5)


def test_top_rated_songs_need_enough_ratings():
    best, good, once = SongFactory(name="Best"), SongFactory(name="Good"), SongFactory(name="Once")
    for score in (5, 5, 4):
        RatingFactory(song=best, score=score, user=UserFactory())
    for score in (5, 3):
        RatingFactory(song=good, score=score, user=UserFactory())
    RatingFactory(song=once, score=5, user=UserFactory())

    top = selectors.top_rated_songs(limit=10, min_ratings=2)

    summary = [(row.song.name, round(row.mean_score, 2), row.ratings) for row in top]
    assert summary == [("Best", 4.67, 3), ("Good", 4.0, 2)]


def test_moods_with_few_songs_emptiest_first():
    full, thin, empty = MoodFactory(name="Full"), MoodFactory(name="Thin"), MoodFactory(name="Empty")
    for _ in range(3):
        SongFactory(mood=full)
    SongFactory(mood=thin)

    rows = selectors.moods_with_few_songs(minimum=3)

    mine = [(row.mood.name, row.songs) for row in rows if row.mood in (full, thin, empty)]
    assert mine == [("Empty", 0), ("Thin", 1)]
