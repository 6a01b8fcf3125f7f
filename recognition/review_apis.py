"""REST endpoints for reviewing answers: the unknown-faces inbox and "not this person"."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from facerecog_site.api_errors import ApiError, ErrorSerializer
from people.models import Person
from people.views import photo_response
from recognition.gallery_serializers import FaceUploadResponseSerializer, upload_results
from recognition.models import Identification, ReviewFace
from recognition.review_selectors import (
    inbox_groups,
    review_face_crop,
    review_faces_by_ids,
    review_faces_unknown,
)
from recognition.review_serializers import (
    AssignSerializer,
    CorrectionSerializer,
    DismissResultSerializer,
    FaceIdsSerializer,
    InboxSerializer,
    NotThisPersonSerializer,
)
from recognition.selectors import model_active, model_gallery_read_at
from recognition.services.review import (
    ReviewError,
    review_face_not_person,
    review_faces_assign,
    review_faces_dismiss,
    review_keep_days,
)

ERROR = OpenApiResponse(ErrorSerializer)


def review_error(exc: ReviewError) -> ApiError:
    return ApiError(exc.message, code=exc.code, status_code=status.HTTP_409_CONFLICT)


def unknown_faces(face_ids: list[int]) -> list[ReviewFace]:
    faces = review_faces_by_ids(ids=face_ids)
    missing = sorted(set(face_ids) - {face.pk for face in faces})
    if missing:
        raise ApiError(
            f"No kept face with id {missing[0]}: it was assigned, dismissed or purged.",
            code="unknown_face_not_found",
            status_code=status.HTTP_404_NOT_FOUND,
        )
    return faces


@extend_schema(tags=["unknown faces"])
class UnknownFaceViewSet(viewsets.GenericViewSet):
    """Faces answered "unknown", kept FACE_REVIEW_KEEP_DAYS days, grouped by similarity."""

    queryset = ReviewFace.objects.none()
    lookup_value_regex = "[0-9]+"
    action_permissions = {
        "list": ["recognition.view_reviewface"],
        "crop": ["recognition.view_reviewface"],
        "assign": ["recognition.change_reviewface", "people.add_faceimage"],
        "dismiss": ["recognition.delete_reviewface"],
    }

    @extend_schema(
        summary="The inbox: unknown faces grouped by similarity, biggest group first",
        responses={200: InboxSerializer},
    )
    def list(self, request: Request) -> Response:
        context = self.get_serializer_context()
        body = {
            "groups": inbox_groups(),
            "faces": review_faces_unknown().count(),
            "keep_days": review_keep_days(),
        }
        return Response(InboxSerializer(body, context=context).data)

    @extend_schema(
        summary="One kept face's crop (JPEG)",
        responses={(200, "image/jpeg"): OpenApiTypes.BINARY, 404: ERROR},
    )
    @action(detail=True, methods=["get"])
    def crop(self, request: Request, pk: str) -> Response:
        face = get_object_or_404(ReviewFace, pk=pk)
        try:
            return photo_response(review_face_crop(review_face=face))  # type: ignore[return-value]
        except FileNotFoundError:
            raise ApiError("The crop file is missing.", code="not_found", status_code=404) from None

    def perform_content_negotiation(self, request: Request, force: bool = False):  # type: ignore[no-untyped-def]
        # The crop is not rendered by DRF; errors for it fall back to JSON.
        return super().perform_content_negotiation(request, force=force or self.action == "crop")

    @extend_schema(
        summary="Enroll unknown faces for a person (person_id) or a new one (name)",
        description=(
            "Each face's crop goes through the normal enrollment (quality gate, "
            "duplicates). Enrolled faces leave the inbox; refused ones stay. Answers like "
            "a photo upload, plus the person: 201 when every face was enrolled, 207 when "
            "some were, 400 when none was. Train again for the model to name them."
        ),
        request=AssignSerializer,
        responses={
            201: FaceUploadResponseSerializer,
            207: FaceUploadResponseSerializer,
            400: ERROR,
            403: ERROR,
            404: ERROR,
            409: ERROR,
        },
    )
    @action(detail=False, methods=["post"])
    def assign(self, request: Request) -> Response:
        serializer = AssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        faces = unknown_faces(data["face_ids"])
        person = None
        if data.get("person_id") is not None:
            person = get_object_or_404(Person, pk=data["person_id"])
        elif not request.user.has_perm("people.add_person"):
            raise PermissionDenied("Creating a person needs the people.add_person permission.")
        try:
            person, outcomes = review_faces_assign(
                faces=faces, person=person, name=data.get("name", ""), user=request.user
            )
        except ReviewError as exc:
            raise review_error(exc) from exc
        context = {
            **self.get_serializer_context(),
            "gallery_read_at": model_gallery_read_at(model=model_active()),
        }
        body = {**upload_results(outcomes, context=context), "person_id": person.pk}
        if body["rejected"] == 0:
            code: int = status.HTTP_201_CREATED
        elif body["enrolled"]:
            code = status.HTTP_207_MULTI_STATUS
        else:
            code = status.HTTP_400_BAD_REQUEST
            body.update(detail="None of the faces could be enrolled.", code="all_rejected")
        return Response(body, status=code)

    @extend_schema(
        summary="Throw unknown faces away (their crops and embeddings are deleted)",
        request=FaceIdsSerializer,
        responses={200: DismissResultSerializer, 404: ERROR, 409: ERROR},
    )
    @action(detail=False, methods=["post"])
    def dismiss(self, request: Request) -> Response:
        serializer = FaceIdsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        faces = unknown_faces(serializer.validated_data["face_ids"])
        try:
            count = review_faces_dismiss(faces=faces, user=request.user)
        except ReviewError as exc:
            raise review_error(exc) from exc
        return Response({"dismissed": count})


def identification_not_this_person(request: Request, identification: Identification) -> Response:
    """The body of POST /api/identifications/{id}/not-this-person/."""
    serializer = NotThisPersonSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    index = serializer.validated_data["face"]
    face = ReviewFace.objects.filter(identification=identification, index=index).first()
    if face is None:
        raise ApiError(
            f"Face {index} of identification #{identification.pk} was not kept for review "
            "(FACE_REVIEW_KEEP_DAYS is 0, it was purged, or there is no such face).",
            code="face_not_kept",
            status_code=status.HTTP_404_NOT_FOUND,
        )
    try:
        correction = review_face_not_person(review_face=face, user=request.user)
    except ReviewError as exc:
        raise review_error(exc) from exc
    return Response(CorrectionSerializer(correction).data, status=status.HTTP_201_CREATED)
