"""Shapes of people and their photos in the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.urls import reverse
from rest_framework import serializers

from people.models import FaceImage, Person

TRAINED = "trained"
AWAITING_TRAINING = "awaiting_training"


class FaceImageSerializer(serializers.ModelSerializer):
    box = serializers.ListField(
        child=serializers.IntegerField(),
        min_length=4,
        max_length=4,
        help_text="The enrolled face: [top, right, bottom, left] in original pixels.",
    )
    uploaded_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    state = serializers.SerializerMethodField(
        help_text="trained: part of the active model; awaiting_training: enrolled since."
    )
    image_url = serializers.SerializerMethodField(help_text="The photo (authenticated).")

    class Meta:
        model = FaceImage
        fields = [
            "id",
            "person",
            "original_name",
            "width",
            "height",
            "box",
            "sha256",
            "state",
            "image_url",
            "uploaded_by",
            "uploaded_at",
        ]
        read_only_fields = fields

    def get_state(self, face: FaceImage) -> str:
        trained_at: datetime | None = self.context.get("trained_at")
        return TRAINED if trained_at and face.uploaded_at <= trained_at else AWAITING_TRAINING

    def get_image_url(self, face: FaceImage) -> str:
        url = reverse("api:person-face-image", args=[face.person_id, face.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class PersonSerializer(serializers.ModelSerializer):
    face_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Person
        fields = ["id", "name", "external_id", "notes", "face_count", "created_at", "updated_at"]
        read_only_fields = fields


class PersonDetailSerializer(PersonSerializer):
    faces = FaceImageSerializer(many=True, read_only=True)

    class Meta(PersonSerializer.Meta):
        fields = [*PersonSerializer.Meta.fields, "faces"]
        read_only_fields = fields


class PersonWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    external_id = serializers.CharField(
        max_length=200,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Optional identifier from another system; unique. Empty or null clears it.",
    )
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10_000)

    def validate_name(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("A name is required.")
        return value

    def validate_external_id(self, value: str | None) -> str:
        return value or ""


class FaceUploadSerializer(serializers.Serializer):
    images = serializers.ListField(
        child=serializers.FileField(allow_empty_file=False),
        allow_empty=False,
        max_length=100,
        help_text="One or more photos (repeat the field). Each is enrolled or rejected.",
    )


class FaceRejectionSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    boxes = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()))


class FaceUploadResultSerializer(serializers.Serializer):
    file = serializers.CharField(help_text="The uploaded file's name.")
    status = serializers.ChoiceField(choices=["enrolled", "rejected"])
    face = FaceImageSerializer(required=False, help_text="When enrolled.")
    rejection = FaceRejectionSerializer(required=False, help_text="When rejected.")


class FaceUploadResponseSerializer(serializers.Serializer):
    enrolled = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = FaceUploadResultSerializer(many=True)
    detail = serializers.CharField(required=False, help_text="When nothing was enrolled.")
    code = serializers.CharField(required=False, help_text="When nothing was enrolled.")


def upload_results(results: list[dict[str, Any]]) -> dict[str, Any]:
    enrolled = sum(1 for result in results if result["status"] == "enrolled")
    return {"enrolled": enrolled, "rejected": len(results) - enrolled, "results": results}
