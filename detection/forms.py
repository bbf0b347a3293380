from django import forms


class PhotoUploadForm(forms.Form):
    # Optional and empty files allowed here on purpose: the service gives
    # every refusal its own sentence, the same as the API's.
    image = forms.FileField(
        label="Your photo",
        required=False,
        allow_empty_file=True,
        help_text="JPEG, PNG, WebP or HEIC (iPhone), up to 10 MB and 40 megapixels.",
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/webp,image/heic,image/heif,.heic,.heif"}
        ),
    )


class OutcomeForm(forms.Form):
    mood_before = forms.IntegerField(min_value=1, max_value=5)
    mood_after = forms.IntegerField(min_value=1, max_value=5)
