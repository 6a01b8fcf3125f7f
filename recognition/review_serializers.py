"""Shapes of the unknown-faces inbox and of corrections in the REST API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.urls import reverse
from rest_framework import serializers

from recognition.models import Correction, ReviewFace
from recognition.review_selectors import InboxGroup


def _absolute(context: Mapping[str, Any], url: str) -> str:
    request = context.get("request")
    return request.build_absolute_uri(url) if request else url


class ReviewFaceSerializer(serializers.ModelSerializer):
    identification_id = serializers.IntegerField(read_only=True)
    face_index = serializers.IntegerField(source="index", help_text="Position in the answer, 0..")
    crop_url = serializers.SerializerMethodField(help_text="The face crop (JPEG).")

    class Meta:
        model = ReviewFace
        fields = ["id", "identification_id", "face_index", "distance", "seen_at", "crop_url"]
        read_only_fields = fields

    def get_crop_url(self, face: ReviewFace) -> str:
        return _absolute(self.context, reverse("api:unknown-face-crop", args=[face.pk]))


class InboxGroupSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()
    face_ids = serializers.ListField(
        child=serializers.IntegerField(), help_text="Pass these to assign or dismiss the group."
    )
    faces = ReviewFaceSerializer(many=True)

    def to_representation(self, instance: InboxGroup) -> dict[str, Any]:
        return {
            "count": instance.count,
            "first_seen": serializers.DateTimeField().to_representation(instance.first_seen),
            "last_seen": serializers.DateTimeField().to_representation(instance.last_seen),
            "face_ids": instance.face_ids,
            "faces": ReviewFaceSerializer(instance.faces, many=True, context=self.context).data,
        }


class InboxSerializer(serializers.Serializer):
    groups = InboxGroupSerializer(many=True)
    faces = serializers.IntegerField(help_text="Unknown faces in the inbox.")
    keep_days = serializers.IntegerField(help_text="FACE_REVIEW_KEEP_DAYS (0: nothing kept).")


class FaceIdsSerializer(serializers.Serializer):
    face_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        allow_empty=False,
        max_length=1000,
        help_text="Ids of unknown faces (a group's face_ids, or single faces).",
    )


class AssignSerializer(FaceIdsSerializer):
    person_id = serializers.IntegerField(required=False, help_text="An existing person…")
    name = serializers.CharField(
        required=False, max_length=200, help_text="…or the name of a new person."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        has_person = attrs.get("person_id") is not None
        has_name = bool((attrs.get("name") or "").strip())
        if has_person == has_name:
            raise serializers.ValidationError("Give either person_id or name, not both.")
        return attrs


class DismissResultSerializer(serializers.Serializer):
    dismissed = serializers.IntegerField()


class NotThisPersonSerializer(serializers.Serializer):
    face = serializers.IntegerField(
        min_value=0, help_text="The face's position in the answer's `faces` (0 = first)."
    )


class CorrectionSerializer(serializers.ModelSerializer):
    user: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    person = serializers.CharField(source="person.name", allow_null=True, default=None)

    class Meta:
        model = Correction
        fields = ["id", "kind", "face_index", "person_id", "person", "user", "created_at"]
        read_only_fields = fields
