import io

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from catalog import selectors, services
from catalog.models import Mood, Song
from catalog.schema import KAGGLE_COLUMNS, SONG_FIELDS, UNIT_INTERVAL_FEATURES

# The importer reads a file whole; a catalog of 100,000 songs is about 20 MB.
MAX_IMPORT_BYTES = 50_000_000


class DecadeListFilter(admin.SimpleListFilter):
    title = "decade"
    parameter_name = "decade"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        years = Song.objects.exclude(release_year=None).values_list("release_year", flat=True).distinct()
        decades = sorted({year - year % 10 for year in years})
        return [*((str(decade), f"{decade}s") for decade in decades), ("unknown", "Unknown year")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Song]) -> QuerySet[Song]:
        value = self.value()
        if value == "unknown":
            return queryset.filter(release_year=None)
        if value and value.isdigit():
            decade = int(value)
            return queryset.filter(release_year__gte=decade, release_year__lt=decade + 10)
        return queryset


class SetMoodForm(forms.Form):
    mood = forms.ModelChoiceField(
        queryset=Mood.objects.all(),
        required=False,
        empty_label="No mood (clear it)",
        help_text="Replaces the mood of every selected song, including moods the classifier predicted.",
    )


class SongImportForm(forms.Form):
    csv_file = forms.FileField(
        label="Songs CSV",
        help_text=(
            f"The Kaggle format: {', '.join(KAGGLE_COLUMNS[:-1])} and optionally mood and genre. "
            "Songs already in the catalog (same Spotify id) are updated."
        ),
    )
    genres_file = forms.FileField(
        label="Genres CSV (optional)",
        required=False,
        help_text="Two columns, id and genre, that fill each song's genre.",
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        for name in ("csv_file", "genres_file"):
            upload = cleaned.get(name)
            if upload is not None and upload.size > MAX_IMPORT_BYTES:
                self.add_error(name, f"The file is larger than {MAX_IMPORT_BYTES // 1_000_000} MB; split it in parts.")
        return cleaned


@admin.register(Mood)
class MoodAdmin(admin.ModelAdmin):
    list_display = ("name", "description", "song_count")
    search_fields = ("name", "description")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Mood]:
        return selectors.moods_with_counts()

    @admin.display(description="songs", ordering="song_count")
    def song_count(self, mood: Mood) -> int:
        return mood.song_count


# The features that say how a song feels, each from 0 to 1.
FEEL_FIELDS = UNIT_INTERVAL_FEATURES
# What each of Spotify's audio features means, with its range, for the song form.
SONG_FIELD_HELP = {
    "popularity": "0 to 100: Spotify's popularity, 100 the most played right now.",
    "length_ms": "The song's length in milliseconds (3 minutes = 180000).",
    "danceability": "0 to 1: how suitable for dancing (tempo, rhythm stability, beat strength).",
    "energy": "0 to 1: intensity and activity; death metal is near 1, a Bach prelude near 0.",
    "valence": "0 to 1: how positive it sounds; near 1 happy or euphoric, near 0 sad or angry.",
    "acousticness": "0 to 1: confidence that the song is acoustic.",
    "instrumentalness": "0 to 1: the likelihood of no vocals; above 0.5 most likely instrumental.",
    "liveness": "0 to 1: the likelihood of an audience in the recording; above 0.8 most likely live.",
    "speechiness": "0 to 1: spoken words; above 0.66 mostly speech, below 0.33 mostly music.",
    "loudness": "Decibels, usually -60 to 0 (most songs -15 to -5).",
    "tempo": "Beats per minute, above 0 (most songs 60 to 200).",
    "key": "-1 to 11: the pitch class (0 = C, 1 = C♯/D♭, … 11 = B), -1 if none was detected.",
    "time_signature": "1 to 7: beats per bar (3 = 3/4, 4 = 4/4).",
}
# The number inputs' ranges and steps, so that a browser helps with the same ranges the model checks.
SONG_FIELD_INPUTS = {
    **{name: {"min": 0, "max": 1, "step": "any"} for name in FEEL_FIELDS},
    "loudness": {"step": "any"},
    "tempo": {"min": 0.001, "step": "any"},
    "key": {"min": -1, "max": 11},
    "time_signature": {"min": 1, "max": 7},
    "popularity": {"min": 0, "max": 100},
    "length_ms": {"min": 1},
}


class SongAdminForm(forms.ModelForm):
    class Meta:
        model = Song
        fields = (*SONG_FIELDS, "mood", "mood_predicted", "genre")
        help_texts = SONG_FIELD_HELP
        widgets = {name: forms.NumberInput(attrs=attrs) for name, attrs in SONG_FIELD_INPUTS.items()}


@admin.register(Song)
class SongAdmin(admin.ModelAdmin):
    change_list_template = "admin/catalog/song/change_list.html"
    form = SongAdminForm
    # The columns staff sort and scan by: the mood's two main features, not all thirteen (the form has them).
    list_display = ("name", "artist", "mood", "genre", "release_year", "popularity", "energy", "valence")
    list_select_related = ("mood",)
    list_filter = ("mood", "mood_predicted", "genre", DecadeListFilter)
    search_fields = ("name", "artist", "album", "spotify_id")
    readonly_fields = ("release_year", "spotify_link", "updated")
    actions = ("set_mood", "export_csv")
    list_per_page = 50
    fieldsets = (
        (None, {"fields": ("name", "artist", "album", "spotify_id", "spotify_link", "release_date", "release_year")}),
        ("Labels", {"fields": ("mood", "mood_predicted", "genre")}),
        (
            "How it feels (Spotify's audio features, 0 to 1)",
            {"fields": FEEL_FIELDS},
        ),
        ("Tempo, loudness and key", {"fields": ("tempo", "loudness", "key", "time_signature")}),
        ("Popularity and length", {"fields": ("popularity", "length_ms")}),
        (None, {"fields": ("updated",)}),
    )

    @admin.display(description="Spotify")
    def spotify_link(self, song: Song) -> str:
        if not song.spotify_id:
            return "—"
        return format_html(
            '<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>', song.spotify_url, song.spotify_url
        )

    def save_model(self, request: HttpRequest, song: Song, form: forms.ModelForm, change: bool) -> None:
        services.song_save(song=song)

    def delete_model(self, request: HttpRequest, song: Song) -> None:
        services.song_delete(song=song)

    def get_urls(self) -> list:
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="catalog_song_import"),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        report = None
        if request.method == "POST":
            form = SongImportForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    report = services.songs_import(
                        csv_file=form.cleaned_data["csv_file"], genres_file=form.cleaned_data["genres_file"]
                    )
                except ValidationError as error:
                    form.add_error(None, error)
                else:
                    level = messages.SUCCESS if report.imported else messages.ERROR
                    self.message_user(request, f"Import finished: {report.summary()}", level)
        else:
            form = SongImportForm()
        context = {
            **self.admin_site.each_context(request),
            "title": "Import songs from CSV",
            "opts": self.model._meta,
            "form": form,
            "report": report,
            "changelist_url": reverse("admin:catalog_song_changelist"),
        }
        return TemplateResponse(request, "admin/catalog/song/import.html", context)

    @admin.action(description="Set the mood of the selected songs…", permissions=["change"])
    def set_mood(self, request: HttpRequest, queryset: QuerySet[Song]) -> TemplateResponse | None:
        if "apply" in request.POST:
            form = SetMoodForm(request.POST)
            if form.is_valid():
                mood = form.cleaned_data["mood"]
                count = services.songs_set_mood(songs=queryset, mood=mood)
                self.message_user(
                    request,
                    f"Set the mood of {count} song{'s' if count != 1 else ''} to {mood or 'none'}.",
                    messages.SUCCESS,
                )
                return None
        else:
            form = SetMoodForm()
        context = {
            **self.admin_site.each_context(request),
            "title": "Set the mood of the selected songs",
            "opts": self.model._meta,
            "form": form,
            "songs": queryset.select_related("mood"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(request, "admin/catalog/song/set_mood.html", context)

    @admin.action(description="Export the selected songs as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Song]) -> HttpResponse:
        stream = io.StringIO()
        selectors.songs_to_csv(songs=queryset.select_related("mood").order_by("name", "id"), stream=stream)
        response = HttpResponse(stream.getvalue(), content_type="text/csv; charset=utf-8")
        filename = f"songs-{timezone.now():%Y%m%d-%H%M%S}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
