from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from accounts import selectors, services
from accounts.forms import DeleteAccountForm, PreferencesForm, SignupForm

# Field names of the service's errors → the form's fields that show them.
_SIGNUP_FIELD_OF = {"username": "username", "email": "email", "password": "password1"}


def _safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                email=form.cleaned_data["email"],
            )
        except ValidationError as error:
            for field, field_messages in error.message_dict.items():
                form.add_error(_SIGNUP_FIELD_OF.get(field), field_messages)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to EmoMusic, {user.username}! Take a selfie to get your first songs.")
            return redirect(_safe_next(request) or "home")
    return render(request, "registration/signup.html", {"form": form, "next": _safe_next(request) or ""})


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            services.user_update_preferences(user=user, **form.cleaned_data)
            messages.success(request, "Your preferences are saved.")
            return redirect("profile")
    else:
        form = PreferencesForm(
            initial={
                "strategy": user.strategy,
                "photo_retention": user.photo_retention,
                "share_photos_for_training": user.share_photos_for_training,
            }
        )
    return render(request, "accounts/profile.html", {"form": form, "summary": selectors.user_summary(user=user)})


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest) -> HttpResponse:
    form = DeleteAccountForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        user = request.user
        services.user_delete(user=user)
        logout(request)
        messages.success(request, "Your account, your photos, detections and ratings are deleted. Goodbye!")
        return redirect("home")
    return render(
        request, "accounts/account_delete.html", {"form": form, "summary": selectors.user_summary(user=request.user)}
    )
