from django.urls import path

from detection import views

urlpatterns = [
    path("", views.home, name="home"),
    path("detections/new", views.detection_upload, name="detection_upload"),
    path("detections/<int:detection_id>/", views.detection_detail, name="detection_detail"),
    path("detections/<int:detection_id>/result", views.detection_result, name="detection_result"),
    path("detections/<int:detection_id>/photo", views.detection_photo, name="detection_photo"),
    path("detections/<int:detection_id>/delete", views.detection_delete, name="detection_delete"),
    path("detections/<int:detection_id>/correct", views.detection_correct, name="detection_correct"),
    path("detections/<int:detection_id>/face", views.detection_face, name="detection_face"),
    path("detections/<int:detection_id>/outcome", views.detection_outcome, name="detection_outcome"),
]
