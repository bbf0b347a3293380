from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from detection.models import EMOTION_CHOICES, Detection, Outcome
from insights import charts, selectors

DASHBOARD_DAYS = 30


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
