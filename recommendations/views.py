"""The product's screens for a selfie and its songs: upload, result, its actions, and the pick-a-mood list.

Every screen that shows a selfie also shows the mood its songs are in, so these pages live here, above
detection: they call detection's services and selectors and this app's own directly. So do the two
screens that reach every app a user's data lies in: the data export and deleting the account.
History lives in insights, which also draws its charts.
"""

import logging
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework.renderers import JSONRenderer

from accounts import selectors as account_selectors
from accounts.forms import DeleteAccountForm
from accounts.models import Strategy
from detection import selectors as detection_selectors
from detection import services as detection_services
from detection.forms import OutcomeForm, PhotoUploadForm
from detection.models import EMOTION_CHOICES, EMOTION_WORDS, PENDING_STATUSES, Detection, DetectionStatus, Outcome
from emomusic_site import errors
from emomusic_site.errors import DomainError, RateLimited, Unavailable
from emomusic_site.ratelimit import client_address, rate_limit_hit
from ml.runtime.labels import LABELS
from recommendations import photos, selectors, services
from recommendations.serializers import ExportOutputSerializer

logger = logging.getLogger(__name__)

UPLOAD_TEMPLATE = "recommendations/upload.html"

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


def _upload_page(
    request: HttpRequest, form: PhotoUploadForm, *, status: int = 200, refused: DomainError | None = None
) -> HttpResponse:
    """The upload page with the user's latest results; `refused`: the upload's refusal, shown on the form."""
    recent = list(detection_selectors.detections_for(user=request.user)[:RECENT_ON_HOME])
    moods = selectors.detection_moods_for(detections=recent, strategy=request.user.strategy)
    context = {
        "form": form,
        "recent": [{"detection": detection, "mood": mood.mood} for detection, mood in zip(recent, moods, strict=True)],
        "retention": request.user.get_photo_retention_display(),
        "retention_code": request.user.photo_retention,
    }
    if refused is not None:
        form.add_error(None, str(refused))
        return errors.error_page(request, refused, template=UPLOAD_TEMPLATE, context=context)
    return render(request, UPLOAD_TEMPLATE, context, status=status)


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
    except RateLimited as refused:
        return _upload_page(request, form, refused=refused)
    if form.is_valid():
        try:
            detection = detection_services.detection_create(user=request.user, upload=form.cleaned_data["image"])
        except ValidationError as exc:
            for message in exc.message_dict.get("image", exc.messages):
                form.add_error("image", message)
            return _upload_page(request, form, status=400)
        except Unavailable as refused:  # the queue or the photo storage down: nothing was kept
            return _upload_page(request, form, refused=refused)
        return redirect("detection_detail", detection_id=detection.pk)
    return _upload_page(request, form, status=400)


def _result_page_context(request: HttpRequest, detection_id: int) -> dict:
    """The result of one of the user's selfies (failed first if its analysis is stuck), under the strategy
    the page asks for."""
    detection = detection_selectors.detection_get_for(user=request.user, detection_id=detection_id)
    detection = detection_services.detection_fail_if_stuck(detection=detection)
    return result_context(detection, strategy=request.GET.get("strategy"))


@login_required
@require_GET
def detection_detail(request: HttpRequest, detection_id: int) -> HttpResponse:
    return render(request, "recommendations/detection_detail.html", _result_page_context(request, detection_id))


@login_required
@require_GET
def detection_result(request: HttpRequest, detection_id: int) -> HttpResponse:
    """The result part of the detail page alone, for the page's script to swap in."""
    response = render(request, "recommendations/_detection_result.html", _result_page_context(request, detection_id))
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
@errors.answers_domain_errors
def detection_photo(request: HttpRequest, detection_id: int) -> HttpResponse:
    """The photo, to its owner only (`recommendations.photos`)."""
    detection = detection_selectors.detection_get_for(user=request.user, detection_id=detection_id)
    return photos.detection_photo_response(detection=detection)


@login_required
@require_http_methods(["GET", "POST"])
def detection_delete(request: HttpRequest, detection_id: int) -> HttpResponse:
    detection = detection_selectors.detection_get_for(user=request.user, detection_id=detection_id)
    if request.method == "POST":
        try:
            services.detection_delete(detection=detection)
        except detection_services.StorageUnavailable as refused:
            # The same confirmation again: sending it once the storage is back is the retry.
            messages.error(request, str(refused))
            return errors.error_page(
                request, refused, template="recommendations/detection_delete.html", context={"detection": detection}
            )
        messages.success(request, "The result and its photo were deleted.")
        return redirect("home")
    return render(request, "recommendations/detection_delete.html", {"detection": detection})


def _change_from_result_page(
    request: HttpRequest, detection: Detection, change: Callable[[], object], *, thanks: str
) -> HttpResponse:
    """Make a change asked for by one of the result page's forms, then show the page again with a message:
    `thanks` when it was made, else the service's sentence saying why not."""
    try:
        change()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except detection_services.DetectionNotFinished as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, thanks)
    return redirect("detection_detail", detection_id=detection.pk)


@login_required
@require_POST
def detection_correct(request: HttpRequest, detection_id: int) -> HttpResponse:
    """The result page's "not right? pick how you feel" form."""
    detection = detection_selectors.detection_get_for(user=request.user, detection_id=detection_id)
    emotion = request.POST.get("emotion", "")
    return _change_from_result_page(
        request,
        detection,
        lambda: detection_services.detection_correct(detection=detection, emotion=emotion),
        thanks="Thanks. Your songs now follow the emotion you picked.",
    )


@login_required
@require_POST
def detection_outcome(request: HttpRequest, detection_id: int) -> HttpResponse:
    """The result page's "did the music help?" form."""
    detection = detection_selectors.detection_get_for(user=request.user, detection_id=detection_id)
    form = OutcomeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick a number from 1 to 5 for both before and after listening.")
        return redirect("detection_detail", detection_id=detection.pk)
    return _change_from_result_page(
        request,
        detection,
        lambda: detection_services.outcome_record(detection=detection, **form.cleaned_data),
        thanks="Thanks for telling us how the music worked.",
    )


@login_required
@require_POST
def detection_face(request: HttpRequest, detection_id: int) -> HttpResponse:
    """The result page's "Which one is you?" form: the emotion and songs follow the chosen face."""
    detection = detection_selectors.detection_get_for(user=request.user, detection_id=detection_id)
    try:
        index = int(request.POST.get("index", ""))
    except ValueError:
        messages.error(request, "Choose one of the numbered faces.")
        return redirect("detection_detail", detection_id=detection.pk)
    return _change_from_result_page(
        request,
        detection,
        lambda: detection_services.detection_main_face_set(detection=detection, index=index),
        thanks="Thanks. The emotion and your songs now follow the face you chose.",
    )


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
            "crop": _face_crop(faces[index]["box"]),
        }
        for number, index in enumerate(order, start=1)
    ]


def _face_crop(box: list[int]) -> str:
    """An SVG viewBox of a square around one face with some margin: the face picker shows each face this way."""
    x, y, width, height = box
    side = round(max(width, height) * 1.4)
    return f"{round(x + width / 2 - side / 2)} {round(y + height / 2 - side / 2)} {side} {side}"


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
                "hints": detection.hint_messages,
                "main_face_number": next((face["number"] for face in faces if face["main"]), None),
            }
        )
    return context


# --- Songs for an emotion picked by hand ---------------------------------------------------------


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


# --- The account's data ----------------------------------------------------------------------------


@login_required
@require_GET
def profile_export(request: HttpRequest) -> HttpResponse:
    """The same document as GET /api/me/export/, as a file to keep."""
    document = ExportOutputSerializer(selectors.user_export(user=request.user)).data
    response = HttpResponse(
        JSONRenderer().render(document, renderer_context={"indent": 2}), content_type="application/json"
    )
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"emomusic-data-{request.user.username}.json"
    )
    return response


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest) -> HttpResponse:
    form = DeleteAccountForm(request.POST or None)
    context = {"form": form, "summary": account_selectors.user_summary(user=request.user)}
    if request.method == "POST" and form.is_valid():
        try:
            services.account_delete_by_owner(
                user=request.user, password=form.cleaned_data["password"], address=client_address(request)
            )
        except ValidationError as error:
            form.add_error("password", error.message_dict["password"])
            return render(request, "recommendations/account_delete.html", context)
        except (RateLimited, detection_services.StorageUnavailable) as refused:
            # The same form with the reason: sending it again once the wait is over or the storage is back is
            # the retry.
            form.add_error(None, str(refused))
            return errors.error_page(request, refused, template="recommendations/account_delete.html", context=context)
        logout(request)
        messages.success(request, "Your account, your photos, detections and ratings are deleted. Goodbye!")
        return redirect("home")
    return render(request, "recommendations/account_delete.html", context)
