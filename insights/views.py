from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from detection.models import EMOTION_CHOICES, EMOTION_WORDS, Detection, Outcome
from detection.selectors import detections_for
from insights import charts, selectors
from recommendations import selectors as recommendation_selectors
from recommendations.views import RATING_UNDO_KEY

DASHBOARD_DAYS = 30
HISTORY_PAGE_SIZE = 25


@staff_member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Everyone's detections, corrections, ratings and outcomes, for the team."""
    per_day = selectors.detections_per_day(days=DASHBOARD_DAYS)
    histogram = selectors.confidence_histogram()
    distribution = selectors.emotion_distribution(Detection.objects.all())
    outcomes = Outcome.objects.all()
    outcome_stats = selectors.outcome_stats_by_strategy(outcomes)
    outcome_cells = selectors.outcome_changes_by_strategy_and_emotion(outcomes)
    return render(
        request,
        "insights/dashboard.html",
        {
            **admin.site.each_context(request),
            "title": "Insights",
            "per_day": per_day,
            "per_day_total": sum(point.count for point in per_day),
            "per_day_chart": charts.simple_bars([(f"{point.day:%d %b}", point.count) for point in per_day]),
            "histogram": histogram,
            "histogram_chart": charts.simple_bars(
                [(f"{bin.low:.1f}-{bin.high:.1f}", bin.count) for bin in histogram], max_labels=10
            ),
            "distribution": distribution,
            "correction_rates": selectors.correction_rates(),
            "confusion": selectors.correction_confusion(),
            "top_songs": selectors.top_rated_songs(),
            "top_songs_min_ratings": selectors.TOP_SONGS_MIN_RATINGS,
            "few_songs": selectors.moods_with_few_songs(),
            "few_songs_minimum": selectors.FEW_SONGS,
            "outcome_stats": outcome_stats,
            "outcome_rows": [(stats, outcome_cells[stats.strategy]) for stats in outcome_stats],
            "emotion_labels": dict(EMOTION_CHOICES),
        },
    )


@login_required
def history(request: HttpRequest) -> HttpResponse:
    """The user's moods over time, loved songs, outcomes, and past detections and ratings (newest first)."""
    detections = Paginator(detections_for(user=request.user), HISTORY_PAGE_SIZE)
    detections_page = detections.get_page(request.GET.get("detections_page"))
    # The mood each selfie gets under the user's current strategy, as its page shows it.
    moods = recommendation_selectors.detection_moods_choose(list(detections_page.object_list), request.user.strategy)
    ratings = Paginator(recommendation_selectors.ratings_for(user=request.user), HISTORY_PAGE_SIZE)
    # Anything but "week" is the default view, so a mangled link still shows a page.
    period = "week" if request.GET.get("timeline") == "week" else "day"
    timeline = selectors.emotion_timeline_for(user=request.user, period=period)
    label_format = "%d %b" if period == "day" else "w/c %d %b"
    return render(
        request,
        "recommendations/history.html",
        {
            "detections_page": detections_page,
            "detection_rows": [
                {
                    "detection": detection,
                    "emotion_word": EMOTION_WORDS.get(detection.effective_emotion, ""),
                    "model_emotion_word": EMOTION_WORDS.get(detection.emotion, ""),
                    "mood": mood.mood,
                }
                for detection, mood in zip(detections_page.object_list, moods, strict=True)
            ],
            "rating_undo": request.session.get(RATING_UNDO_KEY),
            "emotion_words": EMOTION_WORDS,
            "ratings_page": ratings.get_page(request.GET.get("ratings_page")),
            "period": period,
            "timeline": timeline,
            "timeline_total": sum(point.total for point in timeline),
            "timeline_chart": charts.stacked_bars(
                [(point.start.strftime(label_format), point.counts) for point in timeline]
            ),
            "distribution": selectors.emotion_distribution_for(user=request.user),
            "loved_moods": selectors.loved_songs_by_mood_for(user=request.user),
            "outcomes": selectors.outcomes_for(user=request.user),
            "emotion_choices": EMOTION_CHOICES,
        },
    )
