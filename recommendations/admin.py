from django.contrib import admin
from django.http import HttpRequest

from recommendations.models import EmotionMoodRule, Rating


@admin.register(EmotionMoodRule)
class EmotionMoodRuleAdmin(admin.ModelAdmin):
    list_display = ("strategy", "emotion", "mood")
    list_editable = ("mood",)
    list_filter = ("strategy", "mood")
    ordering = ("strategy", "emotion")


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    """Ratings are the users' own data: admins can look, not edit."""

    list_display = ("created", "user", "song", "score", "emotion", "detection")
    list_filter = ("score", "emotion")
    search_fields = ("user__username", "song__name", "song__artist")
    list_select_related = ("user", "song", "detection")
    date_hierarchy = "created"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Rating | None = None) -> bool:
        return False
