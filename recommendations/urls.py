from django.urls import path

from recommendations import views

urlpatterns = [
    # The upload page and a selfie's result.
    path("", views.home, name="home"),
    path("detections/new", views.detection_upload, name="detection_upload"),
    path("detections/<int:detection_id>/", views.detection_detail, name="detection_detail"),
    # The result's parts and actions: detections/<id>/<action>, served by views.detection_<action> and named so.
    *(
        path(f"detections/<int:detection_id>/{action}", view, name=f"detection_{action}")
        for action, view in (
            ("result", views.detection_result),
            ("photo", views.detection_photo),
            ("delete", views.detection_delete),
            ("correct", views.detection_correct),
            ("face", views.detection_face),
            ("outcome", views.detection_outcome),
        )
    ),
    # Songs for an emotion picked by hand.
    path("mood/", views.pick_mood, name="pick_mood"),
    # The mood map alone, for the songs panel's script to redraw once its list has loaded.
    path("mood/map", views.mood_map_part, name="mood_map_part"),
    # The profile (the catalog's genres beside the account's preferences), the account's data and deleting it
    # (the rest of /accounts/ is accounts/urls.py).
    path("accounts/profile/", views.profile, name="profile"),
    path("accounts/profile/genres/", views.profile_genres, name="profile_genres"),
    path("accounts/profile/export/", views.profile_export, name="profile_export"),
    path("accounts/delete/", views.account_delete, name="account_delete"),
]
