"""The outcomes' admin list, with the mean change per strategy above it: an insight, so it lives here,
where every app may be read (the Outcome model itself belongs to detection)."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from detection.models import Outcome
from insights.selectors import outcome_stats_by_strategy


@admin.register(Outcome)
class OutcomeAdmin(admin.ModelAdmin):
    """The "how do you feel now?" answers, with the mean change per strategy above the list."""

    change_list_template = "admin/insights/outcome_change_list.html"

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
