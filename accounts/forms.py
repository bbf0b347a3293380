from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.html import format_html, format_html_join

from accounts.models import PhotoRetention, Strategy
from accounts.selectors import username_as_stored


def password_rules_help_html() -> str:
    """The password validators' rules as a list, leaving out a rule another one already says.

    "At least 8 characters that are not spaces" already says "at least 8 characters".
    """
    texts = password_validation.password_validators_help_texts()
    kept = [text for text in texts if not any(other != text and other.startswith(text.rstrip(".")) for other in texts)]
    return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((text,) for text in kept)))


class SignupForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        help_text="Letters, digits and @ . + - _ only. This is how you log in.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "autofocus": True}),
    )
    email = forms.EmailField(
        required=False,
        help_text="Optional. Only used to reset your password if you forget it.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_rules_help_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="The same password, to catch a typo.",
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password2") and cleaned["password1"] != cleaned["password2"]:
            self.add_error("password2", "The two passwords are different. Type the same password twice.")
        return cleaned


STRATEGY_HELP = {
    Strategy.MATCH: "Songs in the mood you are in: sad songs when you are sad, happy songs when you are happy.",
    Strategy.UPLIFT: "Songs that lift you to a better mood: cheerful songs when you are down, calm ones when angry.",
    Strategy.CALM: "Quiet, relaxing songs whatever you feel.",
}
RETENTION_HELP = {
    PhotoRetention.DELETE_AFTER_ANALYSIS: "Your photo is deleted as soon as its emotion is read; the result stays.",
    PhotoRetention.KEEP_24_HOURS: "Your photo is kept for a day so you can look at it again, then deleted for good.",
    PhotoRetention.KEEP: "Your photo is kept until you delete it or your account.",
}


class PreferencesForm(forms.Form):
    strategy = forms.ChoiceField(
        label="What should the songs do for you?", choices=Strategy.choices, widget=forms.RadioSelect
    )
    photo_retention = forms.ChoiceField(
        label="How long should we keep your photos?", choices=PhotoRetention.choices, widget=forms.RadioSelect
    )
    share_photos_for_training = forms.BooleanField(
        label="Help improve the emotion model",
        required=False,
        help_text=(
            "When you correct an emotion we got wrong, allow the face in that photo to be used to train a "
            "better model. Off unless you turn it on; turning it off stops any further use."
        ),
    )

    def strategy_options(self) -> list[tuple]:
        """Each radio button with a sentence saying what it does."""
        return [(radio, STRATEGY_HELP[radio.data["value"]]) for radio in self["strategy"]]

    def photo_retention_options(self) -> list[tuple]:
        return [(radio, RETENTION_HELP[radio.data["value"]]) for radio in self["photo_retention"]]


class DeleteAccountForm(forms.Form):
    """The password that confirms an account's deletion; the view checks it (counted as a log-in)."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="To make sure it is really you.",
    )


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's change-password form, leaving the old password's check to the view, which counts it as a log-in."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = password_rules_help_html()

    def clean_old_password(self) -> str:
        return self.cleaned_data["old_password"]


class LoginForm(AuthenticationForm):
    """Django's login form, accepting the username in any case (they are unique whatever the case)."""

    def clean(self) -> dict:
        username = self.cleaned_data.get("username")
        if username:
            self.cleaned_data["username"] = username_as_stored(username=username)
        return super().clean()
