"""Reads behind the history page (one user's own data) and the admin dashboard (everyone's).

The emotion that counts is the one the user accepted: their correction when
they made one, else what we showed them. An uncorrected detection therefore
counts as agreed with, which is what the dashboard's "accuracy in the wild"
assumes and says.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Avg, Count, F, FloatField, Q, QuerySet, Value
from django.db.models.functions import Cast, Coalesce, Floor, Least, NullIf, TruncDate
from django.utils import timezone

from accounts.models import Strategy, User
from catalog.models import Mood, Song
from detection.models import Detection, DetectionStatus, Outcome
from ml.runtime.labels import LABELS
from recommendations.models import Rating

LOVED_SCORE = 4
LOVED_SONGS_PER_MOOD = 10
# A mood with fewer songs than the longest list the API serves (limit=50)
# cannot fill it, and repeats itself quickly for a regular user.
FEW_SONGS = 50
TOP_SONGS_MIN_RATINGS = 2


def accepted_emotion() -> Coalesce:
    """SQL for the emotion the user accepted: the correction, else what the model said."""
    return Coalesce(NullIf(F("corrected_emotion"), Value("")), F("emotion"))


def _finished(detections: QuerySet[Detection]) -> QuerySet[Detection]:
    return detections.filter(status=DetectionStatus.DONE).exclude(emotion="")


# --- Shared shapes -----------------------------------------------------------------------


@dataclass(frozen=True)
class EmotionShare:
    emotion: str
    count: int
    percent: float  # of all finished detections counted, 0..100


def emotion_distribution(detections: QuerySet[Detection]) -> list[EmotionShare]:
    """All seven emotions in LABELS order, with how many finished detections ended in each."""
    counts = dict(
        _finished(detections)
        .order_by()
        .annotate(accepted=accepted_emotion())
        .values_list("accepted")
        .annotate(n=Count("id"))
    )
    total = sum(counts.values())
    return [
        EmotionShare(
            emotion=label,
            count=counts.get(label, 0),
            percent=round(100 * counts.get(label, 0) / total, 1) if total else 0.0,
        )
        for label in LABELS
    ]


@dataclass(frozen=True)
class TimelinePoint:
    start: date  # the day, or the Monday of the week
    counts: dict[str, int]  # emotion -> detections, all seven keys

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def emotion_timeline(
    detections: QuerySet[Detection], *, period: str = "day", periods: int = 30, today: date | None = None
) -> list[TimelinePoint]:
    """Accepted emotions per day or per week (weeks start on Monday), oldest first, empty periods included."""
    if period not in ("day", "week"):
        raise ValueError(f"period must be 'day' or 'week', not {period!r}")
    today = today or timezone.localdate()
    step = timedelta(days=1 if period == "day" else 7)
    last = today if period == "day" else today - timedelta(days=today.weekday())
    starts = [last - step * back for back in range(periods - 1, -1, -1)]
    since = timezone.make_aware(timezone.datetime.combine(starts[0], timezone.datetime.min.time()))
    rows = (
        _finished(detections)
        .order_by()
        .filter(created__gte=since)
        .annotate(day=TruncDate("created"), accepted=accepted_emotion())
        .values_list("day", "accepted")
        .annotate(n=Count("id"))
    )
    points = {start: dict.fromkeys(LABELS, 0) for start in starts}
    for day, emotion, count in rows:
        start = day if period == "day" else day - timedelta(days=day.weekday())
        if start in points and emotion in LABELS:
            points[start][emotion] += count
    return [TimelinePoint(start=start, counts=counts) for start, counts in points.items()]


@dataclass(frozen=True)
class OutcomeStats:
    strategy: str
    label: str
    count: int
    mean_before: float | None
    mean_after: float | None
    mean_change: float | None  # after - before, on the 1..5 scale


def outcome_stats_by_strategy(outcomes: QuerySet[Outcome]) -> list[OutcomeStats]:
    """Per strategy (every strategy listed, even without answers): how the users felt before and after."""
    rows = {
        row["strategy"]: row
        # order_by(): a caller's ordering (the admin list's) would otherwise split the groups.
        for row in outcomes.order_by()
        .values("strategy")
        .annotate(count=Count("id"), before=Avg("mood_before"), after=Avg("mood_after"))
    }
    stats = []
    for strategy, label in Strategy.choices:
        row = rows.get(strategy)
        if row is None:
            stats.append(OutcomeStats(strategy, label, 0, None, None, None))
            continue
        before, after = float(row["before"]), float(row["after"])
        stats.append(OutcomeStats(strategy, label, row["count"], before, after, after - before))
    return stats


@dataclass(frozen=True)
class OutcomeCell:
    strategy: str
    emotion: str
    count: int
    mean_change: float | None


def outcome_changes_by_strategy_and_emotion(outcomes: QuerySet[Outcome]) -> dict[str, list[OutcomeCell]]:
    """strategy -> the mean change for each accepted emotion: whom matching, lifting or calming helps."""
    rows = (
        outcomes.order_by()
        .annotate(accepted=Coalesce(NullIf(F("detection__corrected_emotion"), Value("")), F("detection__emotion")))
        .values_list("strategy", "accepted")
        .annotate(count=Count("id"), change=Avg(F("mood_after") - F("mood_before"), output_field=FloatField()))
    )
    found = {(strategy, emotion): (count, change) for strategy, emotion, count, change in rows}
    return {
        strategy: [
            OutcomeCell(
                strategy=strategy,
                emotion=emotion,
                count=found.get((strategy, emotion), (0, None))[0],
                mean_change=found.get((strategy, emotion), (0, None))[1],
            )
            for emotion in LABELS
        ]
        for strategy in Strategy.values
    }


# --- One user's history ---------------------------------------------------------------------


def emotion_distribution_for(*, user: User) -> list[EmotionShare]:
    return emotion_distribution(Detection.objects.filter(user=user))


def detections_filtered(
    detections: QuerySet[Detection], *, emotion: str = "", since: date | None = None, until: date | None = None
) -> QuerySet[Detection]:
    """History's selfies narrowed to one accepted emotion and to days from `since` to `until`, both included."""
    if emotion:
        detections = detections.annotate(accepted=accepted_emotion()).filter(accepted=emotion)
    if since is not None:
        detections = detections.filter(created__date__gte=since)
    if until is not None:
        detections = detections.filter(created__date__lte=until)
    return detections


def emotion_timeline_for(*, user: User, period: str = "day", today: date | None = None) -> list[TimelinePoint]:
    """The last 30 days, or the last 12 weeks, of the user's accepted emotions."""
    periods = 30 if period == "day" else 12
    return emotion_timeline(Detection.objects.filter(user=user), period=period, periods=periods, today=today)


@dataclass(frozen=True)
class LovedSong:
    song: Song
    score: int


@dataclass(frozen=True)
class LovedMood:
    mood: str
    songs: list[LovedSong]


def loved_songs_by_mood_for(*, user: User) -> list[LovedMood]:
    """Songs the user rated 4 or 5, grouped by the song's mood (best score first), each song once."""
    ratings = (
        Rating.objects.filter(user=user, score__gte=LOVED_SCORE)
        .select_related("song", "song__mood")
        .order_by("-score", "-updated", "-id")
    )
    groups: dict[str, list[LovedSong]] = {}
    seen: set[int] = set()
    for rating in ratings:
        if rating.song_id in seen:
            continue
        seen.add(rating.song_id)
        mood = rating.song.mood.name if rating.song.mood else "No mood"
        songs = groups.setdefault(mood, [])
        if len(songs) < LOVED_SONGS_PER_MOOD:
            songs.append(LovedSong(song=rating.song, score=rating.score))
    return [LovedMood(mood=mood, songs=groups[mood]) for mood in sorted(groups)]


@dataclass(frozen=True)
class UserOutcomes:
    outcomes: list[Outcome]  # newest first
    count: int
    mean_change: float | None
    by_strategy: list[OutcomeStats]


def outcomes_for(*, user: User, limit: int = 20) -> UserOutcomes:
    """The user's "how do you feel now?" answers, newest first, with the mean change overall and per strategy."""
    mine = Outcome.objects.filter(detection__user=user)
    summary = mine.aggregate(
        count=Count("id"), change=Avg(F("mood_after") - F("mood_before"), output_field=FloatField())
    )
    return UserOutcomes(
        outcomes=list(mine.select_related("detection").order_by("-created", "-id")[:limit]),
        count=summary["count"],
        mean_change=summary["change"],
        by_strategy=[stats for stats in outcome_stats_by_strategy(mine) if stats.count],
    )


# --- The admin dashboard (everyone) -------------------------------------------------------------


@dataclass(frozen=True)
class DayCount:
    day: date
    count: int


def detections_per_day(*, days: int = 30, today: date | None = None) -> list[DayCount]:
    """Uploads per day (whatever became of them), the last `days` days, oldest first."""
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    since = timezone.make_aware(timezone.datetime.combine(first, timezone.datetime.min.time()))
    counts = dict(
        Detection.objects.filter(created__gte=since)
        .annotate(day=TruncDate("created"))
        .values_list("day")
        .annotate(n=Count("id"))
    )
    return [
        DayCount(day=first + timedelta(days=i), count=counts.get(first + timedelta(days=i), 0)) for i in range(days)
    ]


@dataclass(frozen=True)
class HistogramBin:
    low: float
    high: float
    count: int


def confidence_histogram(*, bins: int = 10) -> list[HistogramBin]:
    """How sure the model was of the emotion it showed, over finished detections, in equal bins of 0..1."""
    rows = dict(
        _finished(Detection.objects.all())
        .filter(confidence__isnull=False)
        # Confidence 1.0 goes in the top bin, not a bin of its own.
        .annotate(bin=Least(Cast(Floor(F("confidence") * bins), output_field=FloatField()), Value(bins - 1.0)))
        .values_list("bin")
        .annotate(n=Count("id"))
    )
    return [
        HistogramBin(low=index / bins, high=(index + 1) / bins, count=rows.get(float(index), 0))
        for index in range(bins)
    ]


@dataclass(frozen=True)
class CorrectionRate:
    emotion: str
    detections: int
    corrected: int

    @property
    def rate(self) -> float | None:
        return self.corrected / self.detections if self.detections else None


def correction_rates() -> list[CorrectionRate]:
    """Per emotion shown: how many finished detections said it and how many users corrected it."""
    rows = {
        row["emotion"]: row
        for row in _finished(Detection.objects.all())
        .values("emotion")
        .annotate(
            n=Count("id"),
            corrected=Count("id", filter=~Q(corrected_emotion="") & ~Q(corrected_emotion=F("emotion"))),
        )
    }
    return [
        CorrectionRate(
            emotion=label, detections=rows.get(label, {}).get("n", 0), corrected=rows.get(label, {}).get("corrected", 0)
        )
        for label in LABELS
    ]


@dataclass(frozen=True)
class ConfusionMatrix:
    labels: tuple[str, ...]
    counts: list[list[int]]  # counts[shown][accepted]
    total: int
    agreed: int

    @property
    def accuracy(self) -> float | None:
        return self.agreed / self.total if self.total else None

    @property
    def rows(self) -> list[tuple[str, list[int], int]]:
        """(shown emotion, counts per accepted emotion, row total) for the template."""
        return [(label, row, sum(row)) for label, row in zip(self.labels, self.counts, strict=True)]


def correction_confusion() -> ConfusionMatrix:
    """Shown emotion x accepted emotion over finished detections: the model's accuracy in the wild."""
    index = {label: i for i, label in enumerate(LABELS)}
    counts = [[0] * len(LABELS) for _ in LABELS]
    rows = (
        _finished(Detection.objects.all())
        .annotate(accepted=accepted_emotion())
        .values_list("emotion", "accepted")
        .annotate(n=Count("id"))
    )
    for shown, accepted, n in rows:
        if shown in index and accepted in index:
            counts[index[shown]][index[accepted]] += n
    total = sum(map(sum, counts))
    agreed = sum(counts[i][i] for i in range(len(LABELS)))
    return ConfusionMatrix(labels=LABELS, counts=counts, total=total, agreed=agreed)


@dataclass(frozen=True)
class RatedSong:
    song: Song
    mean_score: float
    ratings: int


def top_rated_songs(*, limit: int = 10, min_ratings: int = TOP_SONGS_MIN_RATINGS) -> list[RatedSong]:
    """Best mean rating first (more ratings break ties), among songs rated at least `min_ratings` times."""
    songs = (
        Song.objects.annotate(mean_score=Avg("ratings__score"), rating_count=Count("ratings"))
        .filter(rating_count__gte=min_ratings)
        .select_related("mood")
        .order_by("-mean_score", "-rating_count", "name", "id")[:limit]
    )
    return [RatedSong(song=song, mean_score=float(song.mean_score), ratings=song.rating_count) for song in songs]


@dataclass(frozen=True)
class MoodSongs:
    mood: Mood
    songs: int


def moods_with_few_songs(*, minimum: int = FEW_SONGS) -> list[MoodSongs]:
    """Moods with fewer than `minimum` songs, emptiest first."""
    moods = (
        Mood.objects.annotate(song_count=Count("songs")).filter(song_count__lt=minimum).order_by("song_count", "name")
    )
    return [MoodSongs(mood=mood, songs=mood.song_count) for mood in moods]
