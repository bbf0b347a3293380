from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from accounts import services
from accounts.models import User
from emomusic_site.admin import RefusedDeletesAsMessages


@admin.register(User)
class UserAdmin(RefusedDeletesAsMessages, DjangoUserAdmin):
    delete_refusals = (services.UserDeleteUnavailable,)
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
        # The account's photo files live outside the database; the service deletes them too.
        services.user_delete(user=user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            services.user_delete(user=user)
