from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.exceptions import Throttled
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from detection import selectors, services
from detection.serializers import (
    DetectionCorrectInputSerializer,
    DetectionCreateInputSerializer,
    DetectionOutputSerializer,
    OutcomeInputSerializer,
    OutcomeOutputSerializer,
)
from emomusic_site.api import ServiceUnavailable
from emomusic_site.ratelimit import RateLimited, rate_limit_hit


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class DetectionListCreateApi(GenericAPIView):
    """`/api/detections/`: GET lists the user's detections, POST uploads a photo.

    Both operations share a path, so they share a view; each keeps its own
    serializers.
    """

    serializer_class = DetectionOutputSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        return selectors.detections_for(user=self.request.user)

    @extend_schema(responses=DetectionOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(DetectionOutputSerializer(page, many=True).data)

    @extend_schema(request=DetectionCreateInputSerializer, responses={202: DetectionOutputSerializer})
    def post(self, request: Request) -> Response:
        try:
            rate_limit_hit(scope="upload_user", key=str(request.user.pk))
        except RateLimited as exc:
            raise Throttled(wait=exc.retry_after_seconds, detail=str(exc)) from exc
        serializer = DetectionCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            detection = services.detection_create(user=request.user, upload=serializer.validated_data["image"])
        except services.QueueUnavailable as exc:
            raise ServiceUnavailable(str(exc)) from exc
        return Response(DetectionOutputSerializer(detection).data, status=status.HTTP_202_ACCEPTED)


class DetectionDetailApi(APIView):
    @extend_schema(responses=DetectionOutputSerializer)
    def get(self, request: Request, detection_id: int) -> Response:
        detection = selectors.detection_get_for(user=request.user, detection_id=detection_id)
        return Response(DetectionOutputSerializer(detection).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, detection_id: int) -> Response:
        detection = selectors.detection_get_for(user=request.user, detection_id=detection_id)
        services.detection_delete(detection=detection)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DetectionCorrectApi(APIView):
    @extend_schema(request=DetectionCorrectInputSerializer, responses=DetectionOutputSerializer)
    def post(self, request: Request, detection_id: int) -> Response:
        detection = selectors.detection_get_for(user=request.user, detection_id=detection_id)
        serializer = DetectionCorrectInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            detection = services.detection_correct(detection=detection, emotion=serializer.validated_data["emotion"])
        except services.DetectionNotFinished as exc:
            raise Conflict(str(exc)) from exc
        return Response(DetectionOutputSerializer(detection).data)


class DetectionOutcomeApi(APIView):
    @extend_schema(request=OutcomeInputSerializer, responses=OutcomeOutputSerializer)
    def post(self, request: Request, detection_id: int) -> Response:
        detection = selectors.detection_get_for(user=request.user, detection_id=detection_id)
        serializer = OutcomeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            outcome, _created = services.outcome_record(detection=detection, **serializer.validated_data)
        except services.DetectionNotFinished as exc:
            raise Conflict(str(exc)) from exc
        return Response(OutcomeOutputSerializer(outcome).data)
