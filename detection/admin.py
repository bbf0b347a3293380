from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from detection import services
from detection.models import Detection
from emomusic_site.admin import RefusedDeletesAsMessages


@admin.register(Detection)
class DetectionAdmin(RefusedDeletesAsMessages, admin.ModelAdmin):
    """Detections are the users' own data: admins can look and delete (photo included), not edit."""

    delete_refusals = (services.StorageUnavailable,)

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
