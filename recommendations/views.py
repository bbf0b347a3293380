from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Strategy
from detection.models import EMOTION_CHOICES
from recommendations import selectors, services

# The session key of the rating deleted last, so that History can offer to undo it.
RATING_UNDO_KEY = "rating_undo"


@login_required
@require_POST
def rating_delete(request: HttpRequest, rating_id: str) -> HttpResponse:
    """Forget one of the user's ratings (a song rated 1 or 2 can then come back in that context)."""
    rating = selectors.rating_for_user(user=request.user, rating_id=int(rating_id))
    request.session[RATING_UNDO_KEY] = {
        "song": rating.song_id,
        "song_name": rating.song.name,
        "score": rating.score,
        "detection": rating.detection_id,
        "emotion": rating.emotion,
    }
    services.rating_delete(rating=rating)
    return redirect("history")


@login_required
@require_POST
def rating_undo(request: HttpRequest) -> HttpResponse:
    """Put back the rating deleted last (History's "Undo")."""
    deleted = request.session.pop(RATING_UNDO_KEY, None)
    if not deleted:
        messages.error(request, "There is no deleted rating to put back.")
        return redirect("history")
    restored = services.rating_restore(
        user=request.user, **{key: deleted[key] for key in ("song", "score", "detection", "emotion")}
    )
    if restored is None:
        messages.error(request, "That song is no longer in the catalogue, so its rating cannot come back.")
    else:
        messages.success(request, f"Your rating of “{restored.song.name}” is back.")
    return redirect("history")


@login_required
def pick_mood(request: HttpRequest) -> HttpResponse:
    """Pick an emotion by hand, no photo, and get the list for it."""
    emotion = request.GET.get("emotion", "")
    labels = dict(EMOTION_CHOICES)
    strategy = request.GET.get("strategy", "")
    if strategy not in Strategy.values:
        strategy = request.user.strategy
    status = 200
    error = ""
    if emotion and emotion not in labels:
        error = "Pick one of the seven emotions below."
        emotion = ""
        status = 400
    return render(
        request,
        "recommendations/pick_mood.html",
        {
            "emotion": emotion,
            "emotion_label": labels.get(emotion, ""),
            "emotions": EMOTION_CHOICES,
            "strategy": strategy,
            "error": error,
        },
        status=status,
    )
