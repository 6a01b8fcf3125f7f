"""REST endpoints for training, models, identification and its audit trail."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from knox.models import AuthToken
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.throttling import ScopedRateLimit
from facerecog_site.api_errors import ApiError, ErrorSerializer
from recognition.models import Identification, TrainedModel
from recognition.review_apis import identification_not_this_person
from recognition.review_serializers import CorrectionSerializer, NotThisPersonSerializer
from recognition.selectors import identification_list, model_list
from recognition.serializers import (
    IdentificationFilterSerializer,
    IdentificationResultSerializer,
    IdentificationSerializer,
    IdentifyRequestSerializer,
    TrainedModelSerializer,
    identification_result_data,
)
from recognition.services.activation import ModelNotActivatable, model_activate
from recognition.services.identify import NoActiveModel, face_identify
from recognition.services.train import GalleryTooSmall, TrainingError, model_train_request

ERROR = OpenApiResponse(ErrorSerializer)
NO_MODEL_MESSAGE = "No model has been trained yet: enroll people and train one first."


def audit_channel(request: Request, prefix: str = "api") -> str:
    """Who asked, for the audit trail: the token's public key when there is one."""
    if isinstance(request.auth, AuthToken):
        return f"{prefix}-token:{request.auth.token_key}"
    return prefix


def training_requested(request: Request) -> Response:
    try:
        model = model_train_request(requested_by=request.user)
    except GalleryTooSmall as exc:
        # Nothing was created: no failed model in the history.
        raise ApiError(
            str(exc), code="gallery_too_small", status_code=status.HTTP_409_CONFLICT
        ) from exc
    except TrainingError as exc:
        raise ApiError(str(exc), code="cannot_train", status_code=status.HTTP_409_CONFLICT) from exc
    return Response(TrainedModelSerializer(model).data, status=status.HTTP_202_ACCEPTED)


def identified(
    request: Request, *, upload: object, threshold: float | None, channel: str
) -> Response:
    name = getattr(upload, "name", None) or "photo"
    try:
        result = face_identify(
            source=upload,  # type: ignore[arg-type]
            name=name,
            user=request.user,
            channel=channel,
            distance_threshold=threshold,
        )
    except NoActiveModel as exc:
        # The service's message says why (none trained, or its file cannot be used).
        detail = str(exc) or NO_MODEL_MESSAGE
        raise ApiError(
            detail, code="no_active_model", status_code=status.HTTP_409_CONFLICT
        ) from exc
    return Response(identification_result_data(result.as_dict()))


@extend_schema_view(
    list=extend_schema(summary="Trained models, newest first"),
    retrieve=extend_schema(summary="One trained model: status, progress, metrics"),
)
@extend_schema(tags=["models"])
class TrainedModelViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = TrainedModelSerializer
    lookup_value_regex = "[0-9]+"
    action_permissions = {
        "list": ["recognition.view_trainedmodel"],
        "retrieve": ["recognition.view_trainedmodel"],
        "train": ["recognition.add_trainedmodel"],
        "activate": ["recognition.activate_trainedmodel"],
    }

    def get_queryset(self) -> QuerySet[TrainedModel]:
        return model_list()

    @extend_schema(
        summary="Queue a training (or get the one already queued or running)",
        request=None,
        responses={202: TrainedModelSerializer, 409: ERROR},
    )
    @action(detail=False, methods=["post"])
    def train(self, request: Request) -> Response:
        return training_requested(request)

    @extend_schema(
        summary="Make an earlier successful model the active one (rollback)",
        request=None,
        responses={200: TrainedModelSerializer, 404: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str) -> Response:
        try:
            model = model_activate(model=self.get_object())
        except ModelNotActivatable as exc:
            raise ApiError(
                str(exc), code="not_activatable", status_code=status.HTTP_409_CONFLICT
            ) from exc
        return Response(TrainedModelSerializer(model).data)


class IdentifyApi(APIView):
    parser_classes = [MultiPartParser]
    throttle_classes = [ScopedRateLimit]
    throttle_scope = "identify"
    action_permissions = {"post": ["recognition.add_identification"]}

    @extend_schema(
        tags=["identify"],
        summary="Who is in this photo? (multipart field `image`)",
        description=(
            "Every face found gets a box and either a person with a confidence, or null "
            "(unknown, confidence null), and the distance it was judged on. A photo without "
            "faces answers `faces: []`. Each call is recorded in the audit trail."
        ),
        request={"multipart/form-data": IdentifyRequestSerializer},
        responses={
            200: IdentificationResultSerializer,
            400: ERROR,
            409: OpenApiResponse(ErrorSerializer, description="No model trained yet"),
            413: ERROR,
            429: ERROR,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = IdentifyRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return identified(
            request,
            upload=serializer.validated_data["image"],
            threshold=serializer.validated_data.get("threshold"),
            channel=audit_channel(request),
        )


@extend_schema_view(
    list=extend_schema(
        summary="The identification audit trail, newest first",
        parameters=[IdentificationFilterSerializer],
    ),
    retrieve=extend_schema(summary="One identification record"),
)
@extend_schema(tags=["identifications"])
class IdentificationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = IdentificationSerializer
    lookup_value_regex = "[0-9]+"
    action_permissions = {
        "list": ["recognition.view_identification"],
        "retrieve": ["recognition.view_identification"],
        "not_this_person": ["recognition.add_correction"],
    }

    def get_queryset(self) -> QuerySet[Identification]:
        if self.action != "list":
            return identification_list()
        filters = IdentificationFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return identification_list(**filters.selector_kwargs())

    @extend_schema(
        summary="Correct a named face: it is not this person",
        description=(
            "Records the face (by its position in the answer) as a negative example for "
            "the person it was named: from now on a face at least as close to it as to "
            "that person is not named them (reason `corrected`), and the next training "
            "tightens that person's cut-off. The face moves to /api/unknown-faces/. "
            "Needs the face kept for review (FACE_REVIEW_KEEP_DAYS > 0)."
        ),
        request=NotThisPersonSerializer,
        responses={201: CorrectionSerializer, 400: ERROR, 404: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["post"], url_path="not-this-person")
    def not_this_person(self, request: Request, pk: str) -> Response:
        return identification_not_this_person(request, self.get_object())
