"""The admin of the recommendations' own tables, and of the users and detections.

Deleting a user or a detection is a workflow across apps (the photos in storage, the ratings made from a
selfie), so those two admins live here, where recommendations.services carries them out.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from accounts.models import User
from detection.models import Detection
from detection.services import StorageUnavailable
from emomusic_site.admin import RefusedDeletesAsMessages
from recommendations import mood_map, services
from recommendations.models import EmotionPlace, Rating, StrategyMove


@admin.register(EmotionPlace)
class EmotionPlaceAdmin(admin.ModelAdmin):
    """The emotions' places on the mood map; a reading's point is their probability-weighted mean."""

    list_display = ("emotion", "valence", "energy", "default_place")
    list_editable = ("valence", "energy")
    ordering = ("emotion",)

    @admin.display(description="default (Russell 1980)")
    def default_place(self, place: EmotionPlace) -> str:
        default = mood_map.DEFAULT_PLACES.get(place.emotion)
        if default is None:
            return "—"
        return f"{default.valence:.2f}, {default.energy:.2f}: {mood_map.DEFAULT_PLACE_SOURCES[place.emotion]}"


@admin.register(StrategyMove)
class StrategyMoveAdmin(admin.ModelAdmin):
    """How far each strategy moves a reading's point: lift toward positive valence, calm toward low energy."""

    list_display = ("strategy", "amount")
    list_editable = ("amount",)
    ordering = ("strategy",)


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


@admin.register(User)
class UserAdmin(RefusedDeletesAsMessages, DjangoUserAdmin):
    delete_refusals = (StorageUnavailable,)
    list_display = (
        "username",
        "email",
        "strategy",
        "photo_retention",
        "share_photos_for_training",
        "detection_count",
        "is_staff",
        "date_joined",
    )
    list_filter = (*DjangoUserAdmin.list_filter, "strategy", "photo_retention", "share_photos_for_training")
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Preferences", {"fields": ("strategy", "photo_retention", "share_photos_for_training")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).annotate(detection_count=Count("detections"))

    @admin.display(description="detections", ordering="detection_count")
    def detection_count(self, user: User) -> int:
        return user.detection_count

    def delete_model(self, request: HttpRequest, user: User) -> None:
        # The account's photo files live outside the database; the service deletes them first.
        services.account_delete(user=user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            services.account_delete(user=user)


@admin.register(Detection)
class DetectionAdmin(RefusedDeletesAsMessages, admin.ModelAdmin):
    """Detections are the users' own data: admins can look and delete (photo included), not edit."""

    delete_refusals = (StorageUnavailable,)

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
