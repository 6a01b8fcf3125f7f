"""REST endpoints for people and their photos (/api/people/...).

In recognition, not people: a person's page shows each photo's state in the active
model, deleting a person queues a retrain, and uploads run enrollment.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.throttling import BaseThrottle

from accounts.throttling import ScopedRateLimit
from facerecog_site.api_errors import ApiError, ErrorSerializer, rejection_status
from people.models import FaceImage, Person
from people.selectors import face_image_photo, person_list
from people.serializers import PersonSerializer, PersonWriteSerializer
from people.services import PersonNameTaken, face_image_delete, person_create, person_update
from people.views import photo_response
from recognition.gallery_serializers import (
    FaceImageSerializer,
    FaceUploadResponseSerializer,
    FaceUploadSerializer,
    PersonDetailSerializer,
    PersonMergeResultSerializer,
    PersonMergeSerializer,
    upload_results,
)
from recognition.rejections import SERVER_BUSY, STORAGE_UNAVAILABLE
from recognition.selectors import model_active, model_gallery_read_at
from recognition.services.enroll import PhotoUpload, face_images_enroll
from recognition.services.gallery import person_remove
from recognition.services.merge import MergeError, person_merge

ERROR = OpenApiResponse(ErrorSerializer)
PERSON_ID = OpenApiParameter("person_pk", int, OpenApiParameter.PATH, description="Person id")


def name_taken_error(exc: PersonNameTaken) -> ApiError:
    existing = [{"id": person.pk, "name": person.name} for person in exc.existing]
    return ApiError(
        f"{exc} Send allow_duplicate_name=true if so.",
        code="duplicate_name",
        status_code=status.HTTP_409_CONFLICT,
        extra={"existing": existing},
    )


def gallery_read_at() -> datetime | None:
    """When the active model read the gallery: photos uploaded before are in it."""
    return model_gallery_read_at(model=model_active())


@extend_schema_view(
    list=extend_schema(
        summary="People, paginated",
        parameters=[OpenApiParameter("search", str, description="Part of a name or external id")],
    ),
    retrieve=extend_schema(summary="A person with their photos"),
    create=extend_schema(
        summary="Create a person",
        request=PersonWriteSerializer,
        responses={201: PersonDetailSerializer, 400: ERROR, 409: ERROR},
    ),
    update=extend_schema(
        summary="Replace a person's details",
        request=PersonWriteSerializer,
        responses={200: PersonDetailSerializer, 400: ERROR, 404: ERROR},
    ),
    partial_update=extend_schema(
        summary="Change some of a person's details",
        request=PersonWriteSerializer,
        responses={200: PersonDetailSerializer, 400: ERROR, 404: ERROR},
    ),
    destroy=extend_schema(
        summary="Delete a person, their photos and embeddings (queues a retrain)",
        responses={204: None, 404: ERROR},
    ),
)
@extend_schema(tags=["people"])
class PersonViewSet(viewsets.GenericViewSet):
    lookup_value_regex = "[0-9]+"
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    action_permissions = {
        "list": ["people.view_person"],
        "retrieve": ["people.view_person"],
        "create": ["people.add_person"],
        "update": ["people.change_person"],
        "partial_update": ["people.change_person"],
        "destroy": ["people.delete_person"],
        "merge": ["people.change_person", "people.delete_person"],
    }

    def get_queryset(self) -> QuerySet[Person]:
        params = self.request.query_params
        # PostgreSQL refuses NUL in a query string; it can never match a name anyway.
        search = params.get("search", "").replace("\x00", "") if self.action == "list" else ""
        return person_list(search=search)

    def get_serializer_class(self) -> type[BaseSerializer]:
        # The browsable API builds its HTML forms from this with the request's method
        # swapped for POST/PUT: give it the writable fields, not the read-only shape.
        if self.request is not None and self.request.method in {"POST", "PUT", "PATCH"}:
            return PersonWriteSerializer
        return PersonSerializer if self.action == "list" else PersonDetailSerializer

    def detail_response(self, person: Person, status_code: int = 200) -> Response:
        person = get_object_or_404(person_list().prefetch_related("faces__embedding"), pk=person.pk)
        context = {**self.get_serializer_context(), "gallery_read_at": gallery_read_at()}
        return Response(PersonDetailSerializer(person, context=context).data, status=status_code)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(PersonSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self.detail_response(self.get_object())

    def create(self, request: Request) -> Response:
        serializer = PersonWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            person = person_create(**serializer.validated_data, created_by=request.user)
        except PersonNameTaken as exc:
            raise name_taken_error(exc) from exc
        return self.detail_response(person, status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        person = self.get_object()
        serializer = PersonWriteSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        try:
            person_update(person=person, **serializer.validated_data)
        except PersonNameTaken as exc:
            raise name_taken_error(exc) from exc
        return self.detail_response(person)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str) -> Response:
        person_remove(person=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Merge this person into another (two records of one person)",
        request=PersonMergeSerializer,
        responses={200: PersonMergeResultSerializer, 400: ERROR, 404: ERROR},
    )
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: str) -> Response:
        source = self.get_object()
        serializer = PersonMergeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        into = get_object_or_404(Person, pk=serializer.validated_data["into"])
        try:
            result = person_merge(source=source, into=into)
        except MergeError as exc:
            raise ApiError(str(exc), code="invalid", status_code=400) from exc
        person = get_object_or_404(person_list().prefetch_related("faces"), pk=into.pk)
        context = {**self.get_serializer_context(), "gallery_read_at": gallery_read_at()}
        body = {
            "person": PersonDetailSerializer(person, context=context).data,
            "moved": result.moved,
            "duplicates": result.duplicates,
            "retrain_model_id": result.retrain.pk if result.retrain else None,
        }
        return Response(body)


@extend_schema_view(
    list=extend_schema(summary="A person's photos", parameters=[PERSON_ID]),
    retrieve=extend_schema(
        summary="One photo of a person",
        parameters=[PERSON_ID],
        responses={200: FaceImageSerializer, 404: ERROR},
    ),
    destroy=extend_schema(
        summary="Delete a photo and its embedding",
        parameters=[PERSON_ID],
        responses={204: None, 404: ERROR},
    ),
)
@extend_schema(tags=["photos"])
class FaceViewSet(viewsets.GenericViewSet):
    """Photos live under their person: a face id under another person is 404."""

    serializer_class = FaceImageSerializer
    lookup_value_regex = "[0-9]+"
    parser_classes = [MultiPartParser]
    throttle_scope = "enroll"
    action_permissions = {
        "list": ["people.view_faceimage"],
        "retrieve": ["people.view_faceimage"],
        "image": ["people.view_faceimage"],
        "create": ["people.add_faceimage"],
        "destroy": ["people.delete_faceimage"],
    }

    def get_person(self) -> Person:
        return get_object_or_404(Person, pk=self.kwargs["person_pk"])

    def get_queryset(self) -> QuerySet[FaceImage]:
        return FaceImage.objects.filter(person=self.get_person()).select_related(
            "uploaded_by", "embedding"
        )

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "gallery_read_at": gallery_read_at()}

    def get_throttles(self) -> list[BaseThrottle]:
        return [ScopedRateLimit()] if self.action == "create" else []

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The photo is not rendered by DRF; errors for it fall back to JSON.
        return super().perform_content_negotiation(request, force=force or self.action == "image")

    def list(self, request: Request, person_pk: str) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, person_pk: str, pk: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        summary="Enroll one or many photos (multipart field `images`, repeatable)",
        description=(
            "Each file gets its own result: enrolled (with the photo record) or rejected "
            "(with the reason code and sentence: unreadable_image, too_large, no_face, "
            "face_too_small, multiple_faces, duplicate). 201 when every file was enrolled, "
            "207 when some were, 400 when none was (413 when a single file was too large)."
        ),
        parameters=[PERSON_ID],
        request={"multipart/form-data": FaceUploadSerializer},
        responses={
            201: FaceUploadResponseSerializer,
            207: FaceUploadResponseSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description="Invalid request, or no photo enrolled: then the body also "
                "has enrolled, rejected and results as for 207.",
            ),
            404: ERROR,
            413: ERROR,
            429: ERROR,
        },
    )
    def create(self, request: Request, person_pk: str) -> Response:
        person = self.get_person()
        serializer = FaceUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        outcomes = face_images_enroll(
            person=person,
            uploads=[
                PhotoUpload.from_file(upload) for upload in serializer.validated_data["images"]
            ],
            uploaded_by=request.user,
        )
        return upload_response(upload_results(outcomes, context=self.get_serializer_context()))

    def destroy(self, request: Request, person_pk: str, pk: str) -> Response:
        face_image_delete(face_image=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="The photo's bytes (authenticated; never cached)",
        parameters=[PERSON_ID],
        responses={(200, "image/jpeg"): OpenApiTypes.BINARY, 404: ERROR},
    )
    @action(detail=True, methods=["get"])
    def image(self, request: Request, person_pk: str, pk: str) -> HttpResponse:
        try:
            return photo_response(face_image_photo(face_image=self.get_object()))
        except FileNotFoundError:
            raise Http404("The photo file is missing.") from None


def upload_response(body: dict[str, Any]) -> Response:
    results = body["results"]
    if body["rejected"] == 0:
        return Response(body, status=status.HTTP_201_CREATED)
    if body["enrolled"]:
        return Response(body, status=status.HTTP_207_MULTI_STATUS)
    first = results[0]["rejection"]
    codes = {result["rejection"]["code"] for result in results}
    if len(results) == 1 or codes <= {STORAGE_UNAVAILABLE} or codes <= {SERVER_BUSY}:
        # One file, or every file refused for the same server-side reason: that answer.
        body.update(detail=first["detail"], code=first["code"])
        response = Response(body, status=rejection_status(first["code"]))
        if first["code"] == SERVER_BUSY:
            response["Retry-After"] = str(max(1, round(settings.FACE_HEAVY_DECODE_WAIT or 0)))
        elif first["code"] == STORAGE_UNAVAILABLE:
            response["Retry-After"] = "60"
        return response
    body.update(detail=f"None of the {len(results)} photos was enrolled.", code="all_rejected")
    return Response(body, status=status.HTTP_400_BAD_REQUEST)
