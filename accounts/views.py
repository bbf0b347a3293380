from django.contrib import admin, messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from rest_framework.renderers import JSONRenderer

from accounts import selectors, services
from accounts.forms import DeleteAccountForm, LoginForm, PreferencesForm, SignupForm
from accounts.serializers import ExportOutputSerializer
from emomusic_site.ratelimit import RateLimited, client_address

# Field names of the service's errors → the form's fields that show them.
_SIGNUP_FIELD_OF = {"username": "username", "email": "email", "password": "password1"}


def _safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


class LoginView(auth_views.LoginView):
    """Django's login page, refusing further password checks past the per-account and per-address limits."""

    authentication_form = LoginForm
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        username = request.POST.get("username", "")
        if username.strip() and request.POST.get("password"):
            try:
                services.login_attempt_record(username=username, address=client_address(request))
            except RateLimited as refused:
                return self._refused(refused, username=username)
        return super().post(request, *args, **kwargs)

    def _refused(self, refused: RateLimited, *, username: str) -> HttpResponse:
        # A fresh form, not the submitted one: validating that would check the
        # password, and whether it was right must not show while refused.
        form = self.get_form_class()(self.request, initial={"username": username})
        response = self.render_to_response(self.get_context_data(form=form, refused=str(refused)), status=429)
        response["Retry-After"] = str(refused.retry_after_seconds)
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset page, sending at most a few emails an hour to one address and from one client."""

    subject_template_name = "registration/password_reset_subject.txt"
    email_template_name = "registration/password_reset_email.txt"

    def form_valid(self, form) -> HttpResponse:
        try:
            services.password_reset_attempt_record(
                email=form.cleaned_data["email"], address=client_address(self.request)
            )
        except RateLimited as refused:
            form.add_error(None, str(refused))
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(refused.retry_after_seconds)
            return response
        return super().form_valid(form)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's change-password page; the new password also ends every API token of the user."""

    def form_valid(self, form) -> HttpResponse:
        response = super().form_valid(form)
        services.auth_tokens_revoke(user=form.user)
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's choose-a-new-password page (from the emailed link); the new password ends every API token."""

    post_reset_login = False

    def form_valid(self, form) -> HttpResponse:
        response = super().form_valid(form)
        services.auth_tokens_revoke(user=form.user)
        return response


def admin_login(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
    """The admin's own log-in page behind the same limits as the site's.

    Failures are counted by the user_login_failed signal (accounts.signals), as for every log-in.
    """
    if request.method == "POST" and request.POST.get("username", "").strip() and request.POST.get("password"):
        try:
            services.login_attempt_record(username=request.POST["username"], address=client_address(request))
        except RateLimited as refused:
            context = {"status": 429, "title": "Too many attempts", "message": str(refused)}
            response = render(request, "errors/error.html", context, status=429)
            response["Retry-After"] = str(refused.retry_after_seconds)
            return response
    return admin.site.login(request, extra_context)


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        try:
            services.signup_attempt_record(address=client_address(request))
        except RateLimited as refused:
            form.add_error(None, str(refused))
            response = render(
                request, "registration/signup.html", {"form": form, "next": _safe_next(request) or ""}, status=429
            )
            response["Retry-After"] = str(refused.retry_after_seconds)
            return response
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
@never_cache
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
    form = DeleteAccountForm(request.POST or None, user=request.user)
    status = 200
    if request.method == "POST" and form.is_valid():
        user = request.user
        try:
            services.user_delete(user=user)
        except services.UserDeleteUnavailable as exc:
            # The same form with the reason: sending it again once the storage is back is the retry.
            form.add_error(None, str(exc))
            status = 503
        else:
            logout(request)
            messages.success(request, "Your account, your photos, detections and ratings are deleted. Goodbye!")
            return redirect("home")
    return render(
        request,
        "accounts/account_delete.html",
        {"form": form, "summary": selectors.user_summary(user=request.user)},
        status=status,
    )
