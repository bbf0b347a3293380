from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from detection import selectors, services
from detection.serializers import (
    DetectionCorrectInputSerializer,
    DetectionCreateInputSerializer,
    DetectionFaceInputSerializer,
    DetectionOutputSerializer,
    OutcomeInputSerializer,
    OutcomeOutputSerializer,
)
from emomusic_site.api import Conflict, ServiceUnavailable
from emomusic_site.ratelimit import rate_limit_hit


class DetectionListCreateApi(GenericAPIView):
    """`/api/detections/`: GET lists the user's detections, POST uploads a photo.

    Both operations share a path, so they share a view; each keeps its own
    serializers.
    """

    serializer_class = DetectionOutputSerializer
    # Multipart only: a photo is a file, and the schema then offers no other content type (415 for one).
    parser_classes = [MultiPartParser]

    def get_queryset(self):
        return selectors.detections_for(user=self.request.user)

    @extend_schema(summary="The user's detections, newest first", responses=DetectionOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(DetectionOutputSerializer(page, many=True).data)

    @extend_schema(
        summary="Upload a photo (multipart field `image`) for analysis",
        request=DetectionCreateInputSerializer,
        responses={
            202: DetectionOutputSerializer,
            400: OpenApiResponse(description='Not a usable photo: {"image": ["a sentence saying why and what to do"]}'),
            429: OpenApiResponse(description="Too many uploads in a minute."),
            503: OpenApiResponse(description="The task queue is down; nothing was stored. Try again in a minute."),
        },
    )
    def post(self, request: Request) -> Response:
        rate_limit_hit(scope="upload_user", key=str(request.user.pk))
        serializer = DetectionCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            detection = services.detection_create(user=request.user, upload=serializer.validated_data["image"])
        except services.QueueUnavailable as exc:
            raise ServiceUnavailable(str(exc)) from exc
        return Response(DetectionOutputSerializer(detection).data, status=status.HTTP_202_ACCEPTED)


class DetectionDetailApi(APIView):
    @extend_schema(
        summary="One detection (poll it until its status is done, no_face or failed)",
        responses={200: DetectionOutputSerializer, 404: OpenApiResponse(description="No such detection of yours.")},
    )
    def get(self, request: Request, detection_id: int) -> Response:
        detection = selectors.detection_get_for(user=request.user, detection_id=detection_id)
        return Response(DetectionOutputSerializer(detection).data)

    @extend_schema(
        summary="Delete a detection and its photo",
        responses={
            204: None,
            404: OpenApiResponse(description="No such detection of yours."),
            503: OpenApiResponse(
                description="The photo storage could not delete the photo; nothing was deleted. Try again later."
            ),
        },
    )
    def delete(self, request: Request, detection_id: int) -> Response:
        detection = selectors.detection_get_for(user=request.user, detection_id=detection_id)
        try:
            services.detection_delete(detection=detection)
        except services.StorageUnavailable as exc:
            raise ServiceUnavailable(str(exc)) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class DetectionCorrectApi(APIView):
    @extend_schema(
        summary="Say which emotion is right; the mood and recommendations follow it",
        request=DetectionCorrectInputSerializer,
        responses={
            200: DetectionOutputSerializer,
            400: OpenApiResponse(description="Not one of the seven emotions."),
            409: OpenApiResponse(description="The analysis is not finished (status is not done)."),
        },
    )
    def post(self, request: Request, detection_id: int) -> Response:
        detection = selectors.detection_get_for(user=request.user, detection_id=detection_id)
        serializer = DetectionCorrectInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            detection = services.detection_correct(detection=detection, emotion=serializer.validated_data["emotion"])
        except services.DetectionNotFinished as exc:
            raise Conflict(str(exc)) from exc
        return Response(DetectionOutputSerializer(detection).data)


class DetectionFaceApi(APIView):
    @extend_schema(
        summary="Say which face of a group photo is yours; the emotion, mood and recommendations follow it",
        request=DetectionFaceInputSerializer,
        responses={
            200: DetectionOutputSerializer,
            400: OpenApiResponse(description="Not the index of one of the detection's faces."),
            409: OpenApiResponse(description="The analysis is not finished (status is not done)."),
        },
    )
    def post(self, request: Request, detection_id: int) -> Response:
        detection = selectors.detection_get_for(user=request.user, detection_id=detection_id)
        serializer = DetectionFaceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            detection = services.detection_main_face_set(detection=detection, index=serializer.validated_data["index"])
        except services.DetectionNotFinished as exc:
            raise Conflict(str(exc)) from exc
        return Response(DetectionOutputSerializer(detection).data)


class DetectionOutcomeApi(APIView):
    @extend_schema(
        summary="How the user felt before and after listening (1 to 5); replaces an earlier answer",
        request=OutcomeInputSerializer,
        responses={
            200: OutcomeOutputSerializer,
            400: OpenApiResponse(description="A value outside 1 to 5."),
            409: OpenApiResponse(description="The analysis is not finished (status is not done)."),
        },
    )
    def post(self, request: Request, detection_id: int) -> Response:
        detection = selectors.detection_get_for(user=request.user, detection_id=detection_id)
        serializer = OutcomeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            outcome, _created = services.outcome_record(detection=detection, **serializer.validated_data)
        except services.DetectionNotFinished as exc:
            raise Conflict(str(exc)) from exc
        return Response(OutcomeOutputSerializer(outcome).data)
