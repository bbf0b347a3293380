"""The profile's genres form: which of the catalog's genres to leave out of every list."""

from collections.abc import Sequence

from django import forms

from recommendations.selectors import GenreCount

# A genre holding at least this share of the catalog's songs with a genre is listed first.
COMMON_GENRE_SHARE = 0.01


class ExcludedGenresForm(forms.Form):
    excluded_genres = forms.MultipleChoiceField(
        label="Genres to leave out",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": "The catalog has no genre “%(value)s”. Tick genres from the list.",
            "invalid_list": "Tick genres from the list.",
        },
        help_text="Your lists never hold songs of the genres you tick. Songs without a genre always stay.",
    )

    def __init__(self, *args, genres: Sequence[GenreCount], excluded: Sequence[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The genres the user leaves out stay listed even when the catalog has lost them, so they can be undone.
        counts = {genre.name: genre.songs for genre in genres} | {
            genre: 0 for genre in excluded if genre not in {known.name for known in genres}
        }
        self.fields["excluded_genres"].choices = [
            (name, f"{name} ({counts[name]:,} song{'s' if counts[name] != 1 else ''})") for name in sorted(counts)
        ]
        self.fields["excluded_genres"].initial = list(excluded)
        # A catalog may hold a few broad genres and hundreds of narrow ones: the broad ones come first, the
        # others behind "Other genres", open when one of them is ticked.
        least = max(1, sum(counts.values()) * COMMON_GENRE_SHARE)
        self.common_genres = {name for name, count in counts.items() if count >= least}
        self.other_genres_ticked = bool(set(excluded) - self.common_genres)

    def genre_checkboxes(self) -> tuple[list, list]:
        """The checkboxes of the common genres, and of the others."""
        checkboxes = list(self["excluded_genres"])
        common = [checkbox for checkbox in checkboxes if checkbox.data["value"] in self.common_genres]
        return common, [checkbox for checkbox in checkboxes if checkbox.data["value"] not in self.common_genres]
