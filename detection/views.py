import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Strategy
from detection import selectors, services
from detection.forms import OutcomeForm, PhotoUploadForm
from detection.models import EMOTION_CHOICES, EMOTION_WORDS, PENDING_STATUSES, Detection, DetectionStatus, Outcome
from emomusic_site import errors
from emomusic_site.ratelimit import RateLimited, rate_limit_hit
from ml.labels import LABELS

logger = logging.getLogger(__name__)

RECENT_ON_HOME = 4
# Below this the page says plainly that the model is unsure and offers the
# manual choice first.
LOW_CONFIDENCE = 0.5
# Two emotions this close (in probability) are reported together: "scared or surprised".
NEAR_TIE = 0.05


def home(request: HttpRequest) -> HttpResponse:
    """The landing page for visitors; the selfie upload page for signed-in users."""
    if not request.user.is_authenticated:
        return render(request, "home.html")
    return _upload_page(request, PhotoUploadForm())


def _upload_page(request: HttpRequest, form: PhotoUploadForm, *, status: int = 200) -> HttpResponse:
    recent = list(selectors.detections_for(user=request.user)[:RECENT_ON_HOME])
    moods = selectors.detection_moods_for(detections=recent, strategy=request.user.strategy)
    context = {
        "form": form,
        "recent": [{"detection": detection, "mood": mood.mood} for detection, mood in zip(recent, moods, strict=True)],
        "retention": request.user.get_photo_retention_display(),
        "retention_code": request.user.photo_retention,
    }
    return render(request, "detection/upload.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def detection_upload(request: HttpRequest) -> HttpResponse:
    """The form path of the upload (the page's script uses the API instead).

    A GET (a bookmark, or logging in with next=/detections/new) goes to the upload page.
    """
    if request.method == "GET":
        return redirect("home")
    form = PhotoUploadForm(request.POST, request.FILES)
    try:
        rate_limit_hit(scope="upload_user", key=str(request.user.pk))
    except RateLimited as exc:
        form.add_error(None, str(exc))
        return _upload_page(request, form, status=429)
    if form.is_valid():
        try:
            detection = services.detection_create(user=request.user, upload=form.cleaned_data["image"])
        except ValidationError as exc:
            for message in exc.message_dict.get("image", exc.messages):
                form.add_error("image", message)
            return _upload_page(request, form, status=400)
        except services.QueueUnavailable as exc:
            form.add_error(None, str(exc))
            return _upload_page(request, form, status=503)
        return redirect("detection_detail", detection_id=detection.pk)
    return _upload_page(request, form, status=400)


@login_required
@require_GET
def detection_detail(request: HttpRequest, detection_id: int) -> HttpResponse:
    detection = selectors.detection_get_for(user=request.user, detection_id=detection_id)
    return render(request, "detection/detail.html", result_context(detection, strategy=request.GET.get("strategy")))


@login_required
@require_GET
def detection_result(request: HttpRequest, detection_id: int) -> HttpResponse:
    """The result part of the detail page alone, for the page's script to swap in."""
    detection = selectors.detection_get_for(user=request.user, detection_id=detection_id)
    response = render(
        request, "detection/_result.html", result_context(detection, strategy=request.GET.get("strategy"))
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def detection_photo(request: HttpRequest, detection_id: int) -> HttpResponse:
    """The photo, to its owner only; never cached by a shared proxy.

    A photo missing from the storage is a 404; the storage failing (unreachable
    or refusing, emomusic_site/storage.py) is a 503: the photo is still kept.
    """
    detection = selectors.detection_get_for(user=request.user, detection_id=detection_id)
    if not detection.image:
        raise Http404("This photo has been deleted.")
    try:
        stored = detection.image.open("rb")
    except FileNotFoundError:
        raise Http404("This photo has been deleted.") from None
    except OSError as exc:
        logger.error("Could not read the photo of detection %s: %s", detection.pk, exc)
        return errors.respond(request, 503, services.PHOTO_UNREADABLE_MESSAGE)
    response = FileResponse(stored, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = f'inline; filename="detection-{detection.pk}.jpg"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def detection_delete(request: HttpRequest, detection_id: int) -> HttpResponse:
    detection = selectors.detection_get_for(user=request.user, detection_id=detection_id)
    if request.method == "POST":
        try:
            services.detection_delete(detection=detection)
        except services.StorageUnavailable as exc:
            # The same confirmation again: sending it once the storage is back is the retry.
            messages.error(request, str(exc))
            return render(request, "detection/delete.html", {"detection": detection}, status=503)
        messages.success(request, "The result and its photo were deleted.")
        return redirect("home")
    return render(request, "detection/delete.html", {"detection": detection})


@login_required
@require_POST
def detection_correct(request: HttpRequest, detection_id: int) -> HttpResponse:
    """The result page's "not right? pick how you feel" form."""
    detection = selectors.detection_get_for(user=request.user, detection_id=detection_id)
    try:
        services.detection_correct(detection=detection, emotion=request.POST.get("emotion", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except services.DetectionNotFinished as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Thanks. Your songs now follow the emotion you picked.")
    return redirect("detection_detail", detection_id=detection.pk)


@login_required
@require_POST
def detection_outcome(request: HttpRequest, detection_id: int) -> HttpResponse:
    """The result page's "did the music help?" form."""
    detection = selectors.detection_get_for(user=request.user, detection_id=detection_id)
    form = OutcomeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick a number from 1 to 5 for both before and after listening.")
        return redirect("detection_detail", detection_id=detection.pk)
    try:
        services.outcome_record(detection=detection, **form.cleaned_data)
    except services.DetectionNotFinished as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Thanks for telling us how the music worked.")
    return redirect("detection_detail", detection_id=detection.pk)


@login_required
@require_POST
def detection_face(request: HttpRequest, detection_id: int) -> HttpResponse:
    """The result page's "Which one is you?" form: the emotion and songs follow the chosen face."""
    detection = selectors.detection_get_for(user=request.user, detection_id=detection_id)
    try:
        index = int(request.POST.get("index", ""))
    except ValueError:
        messages.error(request, "Choose one of the numbered faces.")
        return redirect("detection_detail", detection_id=detection.pk)
    try:
        services.detection_main_face_set(detection=detection, index=index)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except services.DetectionNotFinished as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Thanks. The emotion and your songs now follow the face you chose.")
    return redirect("detection_detail", detection_id=detection.pk)


def confidence_in_words(confidence: float) -> str:
    if confidence >= 0.8:
        return "very sure"
    if confidence >= 0.6:
        return "fairly sure"
    if confidence >= 0.4:
        return "not very sure"
    return "unsure"


def emotion_word(emotion: str) -> str:
    """The word people say ("scared"), never the model's label ("fear")."""
    return EMOTION_WORDS.get(emotion, emotion)


def calibrated_from(detection: Detection) -> str:
    """The model's own top emotion when the user's calibration changed the reading, else ""."""
    faces = detection.faces or []
    main = faces[detection.main_face] if detection.main_face < len(faces) else None
    if not isinstance(main, dict) or main.get("probabilities") in (None, detection.probabilities):
        return ""
    return emotion_word(main.get("emotion", ""))


def runner_up(detection: Detection) -> tuple[str, int] | None:
    """The second emotion and its percentage when it (nearly) ties the first, else None."""
    probabilities = detection.probabilities or {}
    ranked = sorted(((float(probabilities.get(label, 0.0)), label) for label in LABELS), reverse=True)
    (top, _), (second, label) = ranked[0], ranked[1]
    if second > 0 and top - second <= NEAR_TIE:
        return emotion_word(label), round(second * 100)
    return None


def faces_left_to_right(detection: Detection) -> list[dict]:
    """The faces numbered 1, 2, ... from left to right, as a person would count them."""
    faces = detection.faces or []
    order = sorted(range(len(faces)), key=lambda index: (faces[index]["box"][0], faces[index]["box"][1]))
    return [
        {
            "index": index,
            "number": number,
            "main": index == detection.main_face,
            "x": faces[index]["box"][0],
            "y": faces[index]["box"][1],
            "w": faces[index]["box"][2],
            "h": faces[index]["box"][3],
            # The number's size in the photo's pixels, so that it reads the same at any photo size.
            "tag_size": max(14, round(max(detection.image_width or 0, detection.image_height or 0) / 22)),
            "emotion_word": emotion_word(faces[index]["emotion"]),
            "fallback": bool(faces[index].get("fallback")),
        }
        for number, index in enumerate(order, start=1)
    ]


def result_context(detection: Detection, *, strategy: str | None = None) -> dict:
    """The result page's context; `strategy` is the songs panel's choice for this page, else the user's own."""
    if strategy not in Strategy.values:
        strategy = detection.user.strategy
    context: dict = {
        "detection": detection,
        "pending": detection.status in PENDING_STATUSES,
        "done": detection.status == DetectionStatus.DONE,
        "emotion_choices": EMOTION_CHOICES,
        "strategy": strategy,
        "strategy_label": Strategy(strategy).label,
        "strategy_is_default": strategy == detection.user.strategy,
        "outcome": Outcome.objects.filter(detection=detection).first(),
        "outcome_scale": range(1, 6),
        "outcome_questions": [("mood_before", "Before listening"), ("mood_after", "After listening")],
    }
    if detection.status == DetectionStatus.DONE and detection.probabilities:
        emotion = detection.effective_emotion
        confidence = detection.confidence or 0.0
        faces = faces_left_to_right(detection)
        mood = selectors.detection_mood_for(detection=detection, strategy=strategy)
        context.update(
            {
                "emotion_word": emotion_word(emotion),
                "model_emotion_word": emotion_word(detection.emotion),
                "runner_up": None if detection.corrected_emotion else runner_up(detection),
                "confidence_percent": round(confidence * 100),
                "confidence_words": confidence_in_words(confidence),
                "low_confidence": confidence < LOW_CONFIDENCE,
                # Per-user calibration (detection.calibration) rewrote the probabilities; say so.
                "calibrated_from": calibrated_from(detection),
                "mood": mood.mood,
                "mood_because": mood.because,
                "bars": [
                    {
                        "emotion": label,
                        "word": emotion_word(label).capitalize(),
                        "percent": round(float(detection.probabilities.get(label, 0.0)) * 100),
                        "top": label == detection.emotion,
                    }
                    for label in LABELS
                ],
                "faces": faces,
                "main_face_number": next((face["number"] for face in faces if face["main"]), None),
            }
        )
    return context
