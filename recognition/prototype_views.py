"""The Flask prototype's two routes, answering in the REST API's format.

Its users' scripts call them with ``curl -F file=@photo.jpg``: token authentication
only (no session, hence no CSRF token to fetch).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import TokenAuthentication
from accounts.throttling import ScopedRateLimit
from facerecog_site.api_errors import ErrorSerializer
from recognition.apis import audit_channel, identified, training_requested
from recognition.serializers import (
    IdentificationResultSerializer,
    PrototypePredictSerializer,
    TrainedModelSerializer,
)

ERROR = OpenApiResponse(ErrorSerializer)


class TrainModelApi(APIView):
    authentication_classes = [TokenAuthentication]
    parser_classes = [MultiPartParser, FormParser]
    action_permissions = {"post": ["recognition.add_trainedmodel"]}

    @extend_schema(
        tags=["prototype"],
        summary="Prototype route: queue a training (same as POST /api/models/train/)",
        request=None,
        responses={202: TrainedModelSerializer, 409: ERROR},
    )
    def post(self, request: Request) -> Response:
        return training_requested(request)


class PredictFaceApi(APIView):
    authentication_classes = [TokenAuthentication]
    parser_classes = [MultiPartParser]
    throttle_classes = [ScopedRateLimit]
    throttle_scope = "identify"
    action_permissions = {"post": ["recognition.add_identification"]}

    @extend_schema(
        tags=["prototype"],
        summary="Prototype route: identify (multipart field `file`; as POST /api/identify/)",
        request={"multipart/form-data": PrototypePredictSerializer},
        responses={200: IdentificationResultSerializer, 400: ERROR, 409: ERROR, 413: ERROR},
    )
    def post(self, request: Request) -> Response:
        serializer = PrototypePredictSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return identified(
            request,
            upload=serializer.validated_data["file"],
            threshold=None,
            channel=audit_channel(request, prefix="prototype"),
        )
