from django.urls import path

from detection import api

urlpatterns = [
    path("detections/", api.DetectionListCreateApi.as_view(), name="api_detections"),
    path("detections/<int:detection_id>/", api.DetectionDetailApi.as_view(), name="api_detection"),
    path("detections/<int:detection_id>/correct/", api.DetectionCorrectApi.as_view(), name="api_detection_correct"),
    path("detections/<int:detection_id>/face/", api.DetectionFaceApi.as_view(), name="api_detection_face"),
    path("detections/<int:detection_id>/outcome/", api.DetectionOutcomeApi.as_view(), name="api_detection_outcome"),
]
