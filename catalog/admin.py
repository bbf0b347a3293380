import io

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Avg, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import escape, format_html

from catalog import selectors, services
from catalog.csv_import import TIDYTUESDAY_SONGS
from catalog.models import Mood, Song
from catalog.mood_regions import MIN_CENTRE_DISTANCE
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
        help_text="Replaces the mood of every selected song, including moods predicted from the mood map.",
    )


class SongImportForm(forms.Form):
    csv_file = forms.FileField(
        label="Songs CSV",
        help_text=(
            f"The Kaggle format: {', '.join(KAGGLE_COLUMNS[:-1])} and optionally mood, genre and subgenre; or "
            f'TidyTuesday\'s "Spotify songs": {", ".join(TIDYTUESDAY_SONGS.required_columns)}, with playlist_genre '
            "and playlist_subgenre (a track in several playlists keeps its first row). Compressed with gzip or not. "
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


class MoodAdminForm(forms.ModelForm):
    """Refuses a centre that would put two moods' regions on top of each other, leave one almost no area or
    too few songs, or move a mood without labelled songs (nothing is saved then)."""

    class Meta:
        model = Mood
        fields = ("name", "description", "centre_valence", "centre_energy")

    def clean(self) -> dict:
        cleaned = super().clean()
        valence, energy = cleaned.get("centre_valence"), cleaned.get("centre_energy")
        if self.errors or self.instance.pk is None:
            # The fields' own messages say what is wrong; a new mood has no labelled songs, so no region.
            if self.instance.pk is None and (valence is not None or energy is not None) and not self.errors:
                raise forms.ValidationError(
                    "A new mood has no labelled songs yet, so it has no region on the mood map to move: "
                    "save it without a centre."
                )
            return cleaned
        centre = None if valence is None or energy is None else (valence, energy)
        # The instance still holds the saved centre here (the form's values reach it after clean()).
        saved = self.instance.centre_valence, self.instance.centre_energy
        if centre != (None if None in saved else saved):
            problems = selectors.mood_region_problems(mood=self.instance, centre=centre)
            if problems:
                raise forms.ValidationError(problems)
        return cleaned


@admin.register(Mood)
class MoodAdmin(admin.ModelAdmin):
    """The moods, and where each one's region sits on the mood map. Without a centre set here a mood's centre
    is the mean valence and energy of its labelled songs; a point belongs to the mood of the nearest centre."""

    form = MoodAdminForm
    list_display = ("name", "description", "song_count", "region_centre")
    search_fields = ("name", "description")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Mood]:
        labelled = Q(songs__mood_predicted=False)
        return selectors.moods_with_counts().annotate(
            labelled_valence=Avg("songs__valence", filter=labelled),
            labelled_energy=Avg("songs__energy", filter=labelled),
        )

    @admin.display(description="songs", ordering="song_count")
    def song_count(self, mood: Mood) -> int:
        return mood.song_count

    @admin.display(description="region's centre (valence, energy)")
    def region_centre(self, mood: Mood) -> str:
        if mood.centre_valence is not None and mood.centre_energy is not None:
            return f"{mood.centre_valence:.2f}, {mood.centre_energy:.2f} (set here)"
        if mood.labelled_valence is None:
            return "— (no labelled songs)"
        return f"{mood.labelled_valence:.2f}, {mood.labelled_energy:.2f} (its labelled songs)"

    def render_change_form(self, request: HttpRequest, context: dict, *args, **kwargs):
        form = context["adminform"].form if context.get("adminform") else None
        if form is not None and "centre_valence" in form.fields:
            moods = dict(Mood.objects.values_list("id", "name"))
            labelled = selectors.mood_centres_labelled()
            centres = selectors.mood_centres_get()
            listed = "; ".join(
                # The admin shows help text as HTML: a mood's name is escaped.
                f"{escape(moods[mood_id])} {valence:.2f}, {energy:.2f}"
                + ("" if labelled.get(mood_id) == (valence, energy) else " (set)")
                for mood_id, (valence, energy) in sorted(centres.items(), key=lambda item: moods.get(item[0], ""))
                if mood_id in moods
            )
            own = labelled.get(form.instance.pk) if form.instance.pk else None
            form.fields["centre_valence"].help_text = (
                "0 (sad) to 1 (happy). Leave both empty for the mean of the mood's labelled songs"
                + (f" ({own[0]:.2f}, {own[1]:.2f})" if own else "")
                + ". "
                + (f"Every mood's centre now: {listed}. " if listed else "")
                + f"Keep centres at least {MIN_CENTRE_DISTANCE} apart."
            )
        return super().render_change_form(request, context, *args, **kwargs)

    def save_model(self, request: HttpRequest, obj: Mood, form: forms.ModelForm, change: bool) -> None:
        if not change or not {"centre_valence", "centre_energy"} & set(form.changed_data):
            super().save_model(request, obj, form, change)
            return
        # A moved region moves the predicted moods with it, in this same request.
        centre = None if obj.centre_valence is None else (obj.centre_valence, obj.centre_energy)
        try:
            filled = services.mood_centre_set(mood=obj, centre=centre)
        except ValidationError as error:
            # Another admin's change since the form was checked: nothing was saved.
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return
        changed = 0 if filled is None else filled.filled + filled.moved
        where = f"{centre[0]:.2f}, {centre[1]:.2f}" if centre else "the mean of its labelled songs"
        self.message_user(
            request,
            f"{obj.name}'s region now centres at {where}; {changed} song{'' if changed == 1 else 's'} "
            f"with a predicted mood changed mood to follow the regions.",
            messages.SUCCESS,
        )


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
    "time_signature": "1 to 7: beats per bar (3 = 3/4, 4 = 4/4); empty when unknown.",
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
        fields = (*SONG_FIELDS, "mood", "mood_predicted", "genre", "subgenre")
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
        ("Labels", {"fields": ("mood", "mood_predicted", "genre", "subgenre")}),
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
