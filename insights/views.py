"""The staff dashboard, and History with its actions on the user's ratings.

History shows what detection and recommendations keep, drawn with this app's charts, so it is composed
here, the app above both, from their selectors and services.
"""

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_POST

from detection.models import EMOTION_CHOICES, EMOTION_WORDS, Detection, Outcome
from detection.selectors import detections_for
from insights import charts, selectors
from recommendations import selectors as recommendation_selectors
from recommendations import services as recommendation_services

DASHBOARD_DAYS = 30
HISTORY_PAGE_SIZE = 25
# Selfies are cards with a photo: ten make a page a phone scrolls through comfortably.
SELFIES_PAGE_SIZE = 10
# The session key of the rating deleted last, so that History can offer to undo it.
RATING_UNDO_KEY = "rating_undo"


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
    """The user's emotions over time, loved songs, outcomes, and past detections and ratings (newest first)."""
    selfie_filter = _selfie_filter(request)
    detections = Paginator(
        selectors.detections_filtered(detections_for(user=request.user), **selfie_filter), SELFIES_PAGE_SIZE
    )
    detections_page = detections.get_page(request.GET.get("detections_page"))
    filter_query = QueryDict(mutable=True)
    filter_query.update({key: str(value) for key, value in selfie_filter.items() if value})
    # The mood each selfie gets under the user's current strategy, as its page shows it.
    moods = recommendation_selectors.detection_moods_for(
        detections=list(detections_page.object_list), strategy=request.user.strategy
    )
    ratings = Paginator(recommendation_selectors.ratings_for(user=request.user), HISTORY_PAGE_SIZE)
    # Anything but "week" is the default view, so a mangled link still shows a page.
    period = "week" if request.GET.get("timeline") == "week" else "day"
    timeline = selectors.emotion_timeline_for(user=request.user, period=period)
    label_format = "%d %b" if period == "day" else "w/c %d %b"
    return render(
        request,
        "insights/history.html",
        {
            "detections_page": detections_page,
            "selfie_filter": selfie_filter,
            "selfie_filter_query": filter_query.urlencode(),
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


def _selfie_filter(request: HttpRequest) -> dict:
    """History's selfie filter from the query string (`emotion`, `since`, `until`, dates as YYYY-MM-DD).

    Like the rest of the page's links, a value that makes no sense is left out rather than refused, and a
    message says which one, so a mangled link still shows the selfies.
    """
    emotion = request.GET.get("emotion", "").strip()
    if emotion and emotion not in EMOTION_WORDS:
        messages.warning(request, "That emotion is not one we read, so the selfies are not filtered by emotion.")
        emotion = ""
    dates = {}
    for key, word in (("since", "From"), ("until", "To")):
        raw = request.GET.get(key, "").strip()
        try:
            dates[key] = parse_date(raw) if raw else None
        except ValueError:
            dates[key] = None
        if raw and dates[key] is None:
            messages.warning(request, f"“{word}” needs a date such as 2026-01-31, so it is left out.")
    if dates["since"] and dates["until"] and dates["since"] > dates["until"]:
        messages.warning(request, "“From” is after “To”, so the dates are left out.")
        dates = {"since": None, "until": None}
    return {"emotion": emotion, **dates}


# History's actions on the user's ratings.


@login_required
@require_POST
def rating_delete(request: HttpRequest, rating_id: str) -> HttpResponse:
    """Forget one of the user's ratings (a song rated 1 or 2 can then come back in that context)."""
    rating = recommendation_selectors.rating_for_user(user=request.user, rating_id=int(rating_id))
    request.session[RATING_UNDO_KEY] = {
        "song": rating.song_id,
        "song_name": rating.song.name,
        "score": rating.score,
        "detection": rating.detection_id,
        "emotion": rating.emotion,
    }
    recommendation_services.rating_delete(rating=rating)
    return redirect("history")


@login_required
@require_POST
def rating_undo(request: HttpRequest) -> HttpResponse:
    """Put back the rating deleted last (History's "Undo")."""
    deleted = request.session.pop(RATING_UNDO_KEY, None)
    if not deleted:
        messages.error(request, "There is no deleted rating to put back.")
        return redirect("history")
    restored = recommendation_services.rating_restore(
        user=request.user, **{key: deleted[key] for key in ("song", "score", "detection", "emotion")}
    )
    if restored is None:
        messages.error(request, "That song is no longer in the catalogue, so its rating cannot come back.")
    else:
        messages.success(request, f"Your rating of “{restored.song.name}” is back.")
    return redirect("history")
