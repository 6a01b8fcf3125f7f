"""Shapes of people with their photos, and of photo uploads, in the REST API.

Here rather than in people/ because a photo's state (in the active model or waiting
for the next training) is recognition's knowledge.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.urls import reverse
from rest_framework import serializers

from people.models import FaceImage
from people.serializers import PersonSerializer
from recognition.selectors import face_image_in_model
from recognition.services.enroll import EnrollOutcome

# Left out for users without people.view_faceimage (e.g. the viewers group).
FACE_METADATA = ("original_name", "sha256", "box", "uploaded_by", "image_url")

TRAINED = "trained"
AWAITING_TRAINING = "awaiting_training"


class FaceImageSerializer(serializers.ModelSerializer):
    """A photo record. original_name, sha256, box, uploaded_by and image_url are only
    shown to users with the people.view_faceimage permission."""

    box = serializers.ListField(
        child=serializers.IntegerField(),
        min_length=4,
        max_length=4,
        help_text="The enrolled face: [top, right, bottom, left] in original pixels.",
    )
    uploaded_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="Username; null when no user did it (a command, a deletion's retrain).",
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

    def to_representation(self, instance: FaceImage) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is not None and not user.has_perm("people.view_faceimage"):
            # Viewers see that a person has photos, not which files: the hash would let
            # them test whether a given photo is enrolled, the box and names what is in it.
            for name in FACE_METADATA:
                data.pop(name, None)
        return data

    def get_state(self, face: FaceImage) -> str:
        read_at: datetime | None = self.context.get("gallery_read_at")
        in_model = face_image_in_model(face_image=face, gallery_read_at=read_at)
        return TRAINED if in_model else AWAITING_TRAINING

    def get_image_url(self, face: FaceImage) -> str:
        url = reverse("api:person-face-image", args=[face.person_id, face.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class PersonDetailSerializer(PersonSerializer):
    faces = FaceImageSerializer(many=True, read_only=True)

    class Meta(PersonSerializer.Meta):
        fields = [*PersonSerializer.Meta.fields, "faces"]
        read_only_fields = fields


class FaceUploadSerializer(serializers.Serializer):
    images = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True),
        allow_empty=False,
        max_length=100,
        help_text="One or more photos (repeat the field). Each is enrolled or rejected.",
    )


class FaceRejectionSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    boxes = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()))


class LookAlikeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    distance = serializers.FloatField()


class FaceWarningSerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=["unlike_person", "looks_like"],
        help_text="looks_like: the face is nearer another enrolled person; unlike_person: "
        "it is further from this person's other photos than one person's photos usually are.",
    )
    detail = serializers.CharField()
    distance = serializers.FloatField(
        allow_null=True, help_text="To this person's other photos (null for a first photo)."
    )
    looks_like = LookAlikeSerializer(required=False, help_text="With looks_like: who.")


class FaceUploadResultSerializer(serializers.Serializer):
    file = serializers.CharField(help_text="The uploaded file's name.")
    status = serializers.ChoiceField(choices=["enrolled", "rejected"])
    face = FaceImageSerializer(required=False, help_text="When enrolled.")
    warning = FaceWarningSerializer(
        required=False, help_text="When enrolled but it may not show this person."
    )
    rejection = FaceRejectionSerializer(required=False, help_text="When rejected.")


class FaceUploadResponseSerializer(serializers.Serializer):
    enrolled = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = FaceUploadResultSerializer(many=True)
    detail = serializers.CharField(required=False, help_text="When nothing was enrolled.")
    code = serializers.CharField(required=False, help_text="When nothing was enrolled.")


def upload_results(outcomes: list[EnrollOutcome], *, context: dict[str, Any]) -> dict[str, Any]:
    """The body of an upload's answer: counts, then one result per file."""
    results: list[dict[str, Any]] = []
    for outcome in outcomes:
        if outcome.rejection is not None:
            rejection = {
                "code": outcome.rejection.code,
                "detail": outcome.rejection.message,
                "boxes": [list(box) for box in outcome.rejection.boxes],
            }
            results.append({"file": outcome.name, "status": "rejected", "rejection": rejection})
        else:
            face_data = FaceImageSerializer(outcome.face, context=context).data
            result = {"file": outcome.name, "status": "enrolled", "face": face_data}
            if outcome.warning is not None:
                result["warning"] = outcome.warning.as_dict()
            results.append(result)
    enrolled = sum(1 for result in results if result["status"] == "enrolled")
    return {"enrolled": enrolled, "rejected": len(results) - enrolled, "results": results}


class PersonMergeSerializer(serializers.Serializer):
    into = serializers.IntegerField(help_text="The person to keep (their name stays).")


class PersonMergeResultSerializer(serializers.Serializer):
    person = PersonDetailSerializer(help_text="The person kept, with every photo.")
    moved = serializers.IntegerField(help_text="Photos (with embeddings) moved over.")
    duplicates = serializers.IntegerField(help_text="Photos the kept person already had.")
    retrain_model_id = serializers.IntegerField(
        allow_null=True, help_text="The retrain queued (null when no model exists yet)."
    )
