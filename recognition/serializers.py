"""Shapes of trained models, identifications and the audit trail in the REST API."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from recognition.models import Identification, TrainedModel


class LabelSerializer(serializers.Serializer):
    person_id = serializers.IntegerField()
    name = serializers.CharField()


class TrainedModelSerializer(serializers.ModelSerializer):
    requested_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="Username; null when no user did it (a command, a deletion's retrain).",
    )
    progress = serializers.SerializerMethodField(help_text="0..1: epochs done of the most.")
    val_accuracy = serializers.FloatField(source="validation_accuracy", allow_null=True)
    people = serializers.SerializerMethodField(help_text="Who this model can name.")

    class Meta:
        model = TrainedModel
        fields = [
            "id",
            "status",
            "is_active",
            "progress",
            "epoch",
            "epochs",
            "attempts",
            "requested_by",
            "requested_at",
            "started_at",
            "finished_at",
            "people_count",
            "embedding_count",
            "engine",
            "engine_version",
            "val_accuracy",
            "metrics",
            "people",
            "error",
        ]
        read_only_fields = fields

    def get_progress(self, model: TrainedModel) -> float:
        return round(model.progress, 3)

    @extend_schema_field(LabelSerializer(many=True))
    def get_people(self, model: TrainedModel) -> list[dict[str, object]]:
        labels = model.label_map or {}
        return [
            {"person_id": labels[key].get("person_id"), "name": labels[key].get("name")}
            for key in sorted(labels, key=lambda k: int(k) if str(k).isdigit() else 0)
        ]


class IdentifyRequestSerializer(serializers.Serializer):
    image = serializers.FileField(allow_empty_file=True, help_text="The photo to search.")
    threshold = serializers.FloatField(
        required=False,
        min_value=0.0,
        max_value=2.0,
        help_text="Distance above which a face is unknown (overrides the calibrated one).",
    )


class PrototypePredictSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, help_text="The photo to search.")


class FaceAnswerSerializer(serializers.Serializer):
    box = serializers.ListField(
        child=serializers.IntegerField(), help_text="[top, right, bottom, left], original pixels"
    )
    person = serializers.CharField(allow_null=True, help_text="Name, or null for unknown.")
    person_id = serializers.IntegerField(allow_null=True)
    confidence = serializers.FloatField(
        allow_null=True,
        help_text="The model's probability for the person named; null for an unknown face.",
    )
    distance = serializers.FloatField()


class IdentificationResultSerializer(serializers.Serializer):
    faces = FaceAnswerSerializer(many=True)
    model_id = serializers.IntegerField()
    identification_id = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class IdentificationSerializer(serializers.ModelSerializer):
    user: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="Username; null when no user did it (a command, a deletion's retrain).",
    )

    class Meta:
        model = Identification
        fields = [
            "id",
            "created_at",
            "user",
            "channel",
            "model",
            "image_sha256",
            "face_count",
            "known_count",
            "results",
        ]
        read_only_fields = fields
