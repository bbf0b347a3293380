"""The product's screens for a selfie and its songs: upload, result, its actions, and the pick-a-mood list.

Every screen that shows a selfie also shows the mood its songs are in, so these pages live here, above
detection: they call detection's services and selectors and this app's own directly. So do the two
screens that reach every app a user's data lies in: the data export and deleting the account, and the
profile, which offers the catalog's genres to leave out beside the account's preferences.
History lives in insights, which also draws its charts.
"""

import logging
from collections.abc import Callable, Mapping

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework.renderers import JSONRenderer

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.forms import DeleteAccountForm, PreferencesForm
from accounts.models import PhotoRetention, Strategy, User
from detection import selectors as detection_selectors
from detection import services as detection_services
from detection.forms import OutcomeForm, PhotoUploadForm
from detection.models import EMOTION_CHOICES, EMOTION_WORDS, PENDING_STATUSES, Detection, DetectionStatus, Outcome
from emomusic_site import errors
from emomusic_site.errors import DomainError, RateLimited, Unavailable
from emomusic_site.ratelimit import client_address, rate_limit_hit
from ml.runtime.labels import LABELS
from recommendations import photos, selectors, services
from recommendations.forms import ExcludedGenresForm
from recommendations.mood_map import MapPoint, OffTheMap
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
    return result_context(detection, strategy=request.GET.get("strategy"), genre=request.GET.get("genre", ""))


def _refused_genre_status(context: dict) -> int:
    """400 when the address asks for a genre the list cannot be filtered by (the page says why), else 200."""
    return 400 if context.get("genre_error") else 200


@login_required
@require_GET
def detection_detail(request: HttpRequest, detection_id: int) -> HttpResponse:
    context = _result_page_context(request, detection_id)
    return render(request, "recommendations/detection_detail.html", context, status=_refused_genre_status(context))


@login_required
@require_GET
def detection_result(request: HttpRequest, detection_id: int) -> HttpResponse:
    """The result part of the detail page alone, for the page's script to swap in."""
    context = _result_page_context(request, detection_id)
    response = render(request, "recommendations/_detection_result.html", context, status=_refused_genre_status(context))
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


def genre_filter_context(*, user: User, genre: str) -> dict:
    """The songs panel's genre filter: the genres the user may pick (not those left out), the one the address
    asks for ("" for every genre), and why it cannot be used ("" when it can)."""
    try:
        chosen, error = selectors.genre_filter_clean(user=user, genre=genre), ""
    except ValidationError as refused:
        chosen, error = "", " ".join(refused.messages)
    excluded = set(selectors.excluded_genres_for(user=user))
    genres = [choice for choice in selectors.genres_in_catalog() if choice.name not in excluded]
    return {"genres": genres, "genre": chosen, "genre_error": error}


def result_context(detection: Detection, *, strategy: str | None = None, genre: str = "") -> dict:
    """The result page's context; `strategy` is the songs panel's choice for this page, else the user's own;
    `genre` the genre its list is filtered by."""
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
                "mood_map": selectors.mood_map_figure_for(
                    user=detection.user,
                    strategy=strategy,
                    emotion=emotion,
                    probabilities=detection.probabilities,
                    detection_id=detection.pk,
                ),
                "mood_map_url": _figure_url({"detection": detection.pk, "strategy": strategy}),
                **genre_filter_context(user=detection.user, genre=genre),
            }
        )
    return context


# --- Songs for an emotion picked by hand ---------------------------------------------------------


@login_required
def pick_mood(request: HttpRequest) -> HttpResponse:
    """Pick an emotion by hand, or a point on the mood map, no photo, and get the list for it."""
    emotion = request.GET.get("emotion", "")
    labels = dict(EMOTION_CHOICES)
    strategy = request.GET.get("strategy", "")
    if strategy not in Strategy.values:
        strategy = request.user.strategy
    status = 200
    error = ""
    point = None
    if emotion and emotion not in labels:
        error = "Pick one of the seven emotions below."
        emotion = ""
        status = 400
    elif "valence" in request.GET or "energy" in request.GET:
        try:
            point = map_point_from(request.GET)
        except OffTheMap as refused:
            error, status = str(refused), 400
        else:
            if emotion:
                error, status, point, emotion = "Pick an emotion or a point on the mood map, not both.", 400, None, ""
            else:
                emotion = selectors.emotion_at(point=point)
    figure_query: dict = {"strategy": strategy}
    if point is not None:
        figure_query.update(valence=point.valence, energy=point.energy)
    elif emotion:
        figure_query["emotion"] = emotion
    genres = genre_filter_context(user=request.user, genre=request.GET.get("genre", ""))
    if genres["genre_error"]:
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
            **genres,
            "point": point,
            "slider": point or MapPoint(0.5, 0.5),
            "mood_map": selectors.mood_map_figure_for(
                user=request.user,
                strategy=strategy,
                emotion=emotion,
                point=point,
                # Before anything is picked the map lists no songs; after, those the panel first loads.
                song_ids=None if emotion else [],
            ),
            "mood_map_url": _figure_url(figure_query),
        },
        status=status,
    )


def map_point_from(params: Mapping[str, str]) -> MapPoint:
    """A point on the mood map from `valence` and `energy` (each 0..1); OffTheMap with a sentence otherwise."""
    values = {}
    for name in ("valence", "energy"):
        text = params.get(name, "").strip()
        if not text:
            raise OffTheMap("Give a point on the mood map as both valence and energy, each from 0 to 1.")
        try:
            values[name] = float(text)
        except ValueError:
            raise OffTheMap(f"{name.capitalize()} must be a number from 0 to 1, not “{text[:20]}”.") from None
    return MapPoint(valence=values["valence"], energy=values["energy"])


def _figure_url(query: Mapping[str, object]) -> str:
    return f"{reverse('mood_map_part')}?{urlencode(query)}"


@login_required
@require_GET
def mood_map_part(request: HttpRequest) -> HttpResponse:
    """The mood map alone, for the songs panel's script to swap in once its list (`songs`, ids) has loaded:
    for one of the user's selfies (`detection`), an emotion picked by hand, or a point (`valence`, `energy`)."""
    strategy = request.GET.get("strategy", "")
    if strategy not in Strategy.values:
        strategy = request.user.strategy
    listed = [song_id.strip() for song_id in request.GET.get("songs", "").split(",") if song_id.strip()]
    # Ids that fit the database's integer column, at most a long list's worth.
    well_formed = all(song_id.isascii() and song_id.isdigit() and len(song_id) <= 18 for song_id in listed)
    if len(listed) > selectors.MAP_SONGS_MOST or not well_formed:
        return HttpResponse(
            f"Give the songs as at most {selectors.MAP_SONGS_MOST} ids separated by commas.",
            status=400,
            content_type="text/plain",
        )
    song_ids = [int(song_id) for song_id in listed]
    reading: dict = {}
    query: dict = {}
    detection_id = request.GET.get("detection", "")
    if detection_id.isascii() and detection_id.isdigit() and len(detection_id) <= 18:
        detection = detection_selectors.detection_get_for(user=request.user, detection_id=int(detection_id))
        if detection.status == DetectionStatus.DONE and detection.effective_emotion:
            reading = {
                "emotion": detection.effective_emotion,
                "probabilities": detection.probabilities,
                "detection_id": detection.pk,
            }
        query["detection"] = detection.pk
    elif "valence" in request.GET or "energy" in request.GET:
        try:
            point = map_point_from(request.GET)
        except OffTheMap as refused:
            return HttpResponse(str(refused), status=400, content_type="text/plain")
        reading = {"point": point}
        query.update(valence=point.valence, energy=point.energy)
    elif request.GET.get("emotion", "") in dict(EMOTION_CHOICES):
        reading = {"emotion": request.GET["emotion"]}
        query["emotion"] = request.GET["emotion"]
    elif request.GET.get("emotion") or detection_id:
        return HttpResponse(
            "Give one of your selfies (detection), an emotion, or a point (valence and energy).",
            status=400,
            content_type="text/plain",
        )
    figure = selectors.mood_map_figure_for(user=request.user, strategy=strategy, song_ids=song_ids, **reading)
    response = render(
        request,
        "recommendations/_mood_map.html",
        {"mood_map": figure, "mood_map_url": _figure_url({**query, "strategy": strategy})},
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- The profile ----------------------------------------------------------------------------------
# The user's preferences (accounts) beside the catalog's genres to leave out (catalog), so it lives here.


def _profile_page(
    request: HttpRequest,
    *,
    form: PreferencesForm | None = None,
    genres_form: ExcludedGenresForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    if form is None:
        form = PreferencesForm(
            initial={
                "strategy": user.strategy,
                "photo_retention": user.photo_retention,
                "share_photos_for_training": user.share_photos_for_training,
            }
        )
    if genres_form is None:
        genres_form = ExcludedGenresForm(
            genres=selectors.genres_in_catalog(), excluded=selectors.excluded_genres_for(user=user)
        )
    context = {"form": form, "genres_form": genres_form, "summary": account_selectors.user_summary(user=user)}
    return render(request, "recommendations/profile.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "GET":
        return _profile_page(request)
    form = PreferencesForm(request.POST)
    if not form.is_valid():
        return _profile_page(request, form=form)
    # A choice that deletes photos now says how many, and waits for a second yes.
    photos_deleted = account_selectors.photos_deleted_by_retention(
        user=user, retention=form.cleaned_data["photo_retention"]
    )
    if photos_deleted and request.POST.get("confirm") != "delete-photos":
        retention = PhotoRetention(form.cleaned_data["photo_retention"])
        return render(
            request,
            "recommendations/retention_confirm.html",
            {"preferences": form.cleaned_data, "photos": photos_deleted, "retention": retention.label},
        )
    account_services.user_update_preferences(user=user, **form.cleaned_data)
    messages.success(request, "Your preferences are saved.")
    return redirect("profile")


@login_required
@require_POST
def profile_genres(request: HttpRequest) -> HttpResponse:
    """The profile's genres form: the ticked genres are left out of every list."""
    excluded = selectors.excluded_genres_for(user=request.user)
    form = ExcludedGenresForm(request.POST, genres=selectors.genres_in_catalog(), excluded=excluded)
    if form.is_valid():
        try:
            left_out = services.excluded_genres_set(user=request.user, genres=form.cleaned_data["excluded_genres"])
        except ValidationError as error:
            form.add_error("excluded_genres", error.message_dict["excluded_genres"])
        else:
            messages.success(
                request,
                f"Your lists now leave out {', '.join(left_out)}." if left_out else "Your lists hold every genre.",
            )
            return redirect(f"{reverse('profile')}#genres")
    return _profile_page(request, genres_form=form, status=400)


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
