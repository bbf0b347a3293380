from django.urls import path, re_path

from recommendations import api, map_api

urlpatterns = [
    path("detections/", api.DetectionListCreateApi.as_view(), name="api_detections"),
    path("detections/<int:detection_id>/", api.DetectionDetailApi.as_view(), name="api_detection"),
    path("detections/<int:detection_id>/photo/", api.DetectionPhotoApi.as_view(), name="api_detection_photo"),
    path("detections/<int:detection_id>/correct/", api.DetectionCorrectApi.as_view(), name="api_detection_correct"),
    path("detections/<int:detection_id>/face/", api.DetectionFaceApi.as_view(), name="api_detection_face"),
    path("detections/<int:detection_id>/outcome/", api.DetectionOutcomeApi.as_view(), name="api_detection_outcome"),
    path("recommendations/", api.RecommendationsApi.as_view(), name="api_recommendations"),
    path("genres/", api.GenreListApi.as_view(), name="api_genres"),
    path("mood-map/", map_api.MoodMapApi.as_view(), name="api_mood_map"),
    path("ratings/", api.RatingListCreateApi.as_view(), name="api_ratings"),
    # Only ids that fit the database's integer column reach the query; anything else is a 404.
    re_path(r"^ratings/(?P<rating_id>[0-9]{1,18})/$", api.RatingDetailApi.as_view(), name="api_rating"),
    path("me/", api.MeApi.as_view(), name="api-me"),
    path("me/export/", api.MeExportApi.as_view(), name="api-me-export"),
]
