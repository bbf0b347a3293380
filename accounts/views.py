from django.contrib import admin, messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from accounts import services
from accounts.forms import LoginForm, PasswordChangeForm, SignupForm
from emomusic_site import errors
from emomusic_site.errors import RateLimited
from emomusic_site.ratelimit import client_address

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
        context = self.get_context_data(form=form, refused=str(refused))
        return errors.error_page(self.request, refused, template=self.template_name, context=context)


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
            context = self.get_context_data(form=form)
            return errors.error_page(self.request, refused, template=self.template_name, context=context)
        return super().form_valid(form)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's change-password page, its old password checked as a log-in; the new one ends every API token."""

    form_class = PasswordChangeForm

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        try:
            confirmed = services.password_check(
                user=form.user, password=form.cleaned_data["old_password"], address=client_address(self.request)
            )
        except RateLimited as refused:
            form.add_error(None, str(refused))
            context = self.get_context_data(form=form)
            return errors.error_page(self.request, refused, template=self.template_name, context=context)
        if not confirmed:
            form.add_error("old_password", form.error_messages["password_incorrect"])
            return self.form_invalid(form)
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


@errors.answers_domain_errors
def admin_login(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
    """The admin's own log-in page behind the same limits as the site's (refused: the site's 429 page).

    Failures are counted by the user_login_failed signal (accounts.signals), as for every log-in.
    """
    if request.method == "POST" and request.POST.get("username", "").strip() and request.POST.get("password"):
        services.login_attempt_record(username=request.POST["username"], address=client_address(request))
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
            context = {"form": form, "next": _safe_next(request) or ""}
            return errors.error_page(request, refused, template="registration/signup.html", context=context)
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
