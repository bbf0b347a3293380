from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from detection import selectors, services
from detection.forms import OutcomeForm, PhotoUploadForm
from detection.models import EMOTION_CHOICES, PENDING_STATUSES, Detection, DetectionStatus, Outcome
from emomusic_site.ratelimit import RateLimited, rate_limit_hit
from ml.labels import LABELS

RECENT_ON_HOME = 4
# Below this the page says plainly that the model is unsure and offers the
# manual choice first.
LOW_CONFIDENCE = 0.5


def home(request: HttpRequest) -> HttpResponse:
    """The landing page for visitors; the selfie upload page for signed-in users."""
    if not request.user.is_authenticated:
        return render(request, "home.html")
    return _upload_page(request, PhotoUploadForm())


def _upload_page(request: HttpRequest, form: PhotoUploadForm, *, status: int = 200) -> HttpResponse:
    context = {
        "form": form,
        "recent": selectors.detections_for(user=request.user)[:RECENT_ON_HOME],
        "retention": request.user.get_photo_retention_display(),
        "retention_code": request.user.photo_retention,
    }
    return render(request, "detection/upload.html", context, status=status)


@login_required
@require_POST
def detection_upload(request: HttpRequest) -> HttpResponse:
    """The form path of the upload (the page's script uses the API instead)."""
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
    return render(request, "detection/detail.html", result_context(detection))


@login_required
@require_GET
def detection_result(request: HttpRequest, detection_id: int) -> HttpResponse:
    """The result part of the detail page alone, for the page's script to swap in."""
    detection = selectors.detection_get_for(user=request.user, detection_id=detection_id)
    response = render(request, "detection/_result.html", result_context(detection))
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def detection_photo(request: HttpRequest, detection_id: int) -> FileResponse:
    """The photo, to its owner only; never cached by a shared proxy."""
    detection = selectors.detection_get_for(user=request.user, detection_id=detection_id)
    if not detection.image:
        raise Http404("This photo has been deleted.")
    try:
        stored = detection.image.open("rb")
    except FileNotFoundError:
        raise Http404("This photo has been deleted.") from None
    response = FileResponse(stored, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = f'inline; filename="detection-{detection.pk}.jpg"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def detection_delete(request: HttpRequest, detection_id: int) -> HttpResponse:
    detection = selectors.detection_get_for(user=request.user, detection_id=detection_id)
    if request.method == "POST":
        services.detection_delete(detection=detection)
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


def confidence_in_words(confidence: float) -> str:
    if confidence >= 0.8:
        return "very sure"
    if confidence >= 0.6:
        return "fairly sure"
    if confidence >= 0.4:
        return "not very sure"
    return "unsure"


def pick_mood_url() -> str:
    try:
        return reverse("pick_mood")
    except NoReverseMatch:
        return "/mood/"


def calibrated_from(detection: Detection, labels: dict[str, str]) -> str:
    """The model's own top emotion when the user's calibration changed the reading, else ""."""
    main = (detection.faces or [None])[0]
    if not isinstance(main, dict) or main.get("probabilities") in (None, detection.probabilities):
        return ""
    return labels.get(main.get("emotion", ""), "")


def result_context(detection: Detection) -> dict:
    labels = dict(EMOTION_CHOICES)
    context: dict = {
        "detection": detection,
        "pending": detection.status in PENDING_STATUSES,
        "done": detection.status == DetectionStatus.DONE,
        "emotion_choices": EMOTION_CHOICES,
        "pick_mood_url": pick_mood_url(),
        "outcome": Outcome.objects.filter(detection=detection).first(),
        "outcome_scale": range(1, 6),
        "outcome_questions": [("mood_before", "Before listening"), ("mood_after", "After listening")],
    }
    if detection.status == DetectionStatus.DONE and detection.probabilities:
        emotion = detection.effective_emotion
        confidence = detection.confidence or 0.0
        context.update(
            {
                "emotion_label": labels.get(emotion, emotion),
                "model_emotion_label": labels.get(detection.emotion, detection.emotion),
                "confidence_percent": round(confidence * 100),
                "confidence_words": confidence_in_words(confidence),
                "low_confidence": confidence < LOW_CONFIDENCE,
                # Per-user calibration (detection.calibration) rewrote the probabilities; say so.
                "calibrated_from": calibrated_from(detection, labels),
                "bars": [
                    {
                        "emotion": label,
                        "label": labels[label],
                        "percent": round(float(detection.probabilities.get(label, 0.0)) * 100),
                        "top": label == detection.emotion,
                    }
                    for label in LABELS
                ],
                "faces": [
                    {
                        "number": index + 1,
                        "main": index == 0,
                        "x": face["box"][0],
                        "y": face["box"][1],
                        "w": face["box"][2],
                        "h": face["box"][3],
                        "emotion_label": labels.get(face["emotion"], face["emotion"]),
                        "fallback": bool(face.get("fallback")),
                    }
                    for index, face in enumerate(detection.faces or [])
                ],
            }
        )
    return context
