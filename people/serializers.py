"""Shapes of people in the REST API (their photos: recognition.gallery_serializers)."""

from __future__ import annotations

from rest_framework import serializers

from people.models import Person


class PersonSerializer(serializers.ModelSerializer):
    face_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Person
        fields = ["id", "name", "external_id", "notes", "face_count", "created_at", "updated_at"]
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
    allow_duplicate_name = serializers.BooleanField(
        required=False,
        default=False,
        write_only=True,
        help_text="Create (or rename to) a name someone already has: a different person "
        "with the same name. Without it such a request answers 409 duplicate_name.",
    )

    def validate_name(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("A name is required.")
        return value

    def validate_external_id(self, value: str | None) -> str:
        return value or ""
