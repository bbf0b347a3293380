from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from detection import services
from detection.models import Detection, Outcome
from insights.selectors import outcome_stats_by_strategy


@admin.register(Detection)
class DetectionAdmin(admin.ModelAdmin):
    """Detections are the users' own data: admins can look and delete (photo included), not edit."""

    list_display = ("id", "created", "user", "status", "emotion", "corrected_emotion", "confidence")
    list_filter = ("status", "emotion", "corrected_emotion", "model_version")
    search_fields = ("user__username",)
    list_select_related = ("user",)
    date_hierarchy = "created"
    # The photo itself is never shown here: it is private to its owner.
    exclude = ("image",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Detection | None = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Detection) -> None:
        services.detection_delete(detection=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Detection]) -> None:
        for detection in queryset:
            services.detection_delete(detection=detection)


@admin.register(Outcome)
class OutcomeAdmin(admin.ModelAdmin):
    """The "how do you feel now?" answers, with the mean change per strategy above the list."""

    list_display = ("created", "user", "detection", "strategy", "mood_before", "mood_after", "change")
    list_filter = ("strategy", "mood_before", "mood_after")
    search_fields = ("detection__user__username",)
    list_select_related = ("detection__user",)
    date_hierarchy = "created"

    @admin.display(description="user", ordering="detection__user__username")
    def user(self, outcome: Outcome) -> str:
        return outcome.detection.user.username

    @admin.display(description="change")
    def change(self, outcome: Outcome) -> str:
        return f"{outcome.mood_after - outcome.mood_before:+d}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Outcome | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context=extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            # The summary follows the filters and search of the list below it.
            response.context_data["strategy_stats"] = outcome_stats_by_strategy(changelist.queryset)
        return response
