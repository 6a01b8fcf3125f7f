"""Shapes of trained models, identifications and the audit trail in the REST API."""

from __future__ import annotations

import functools
from typing import Any

from django.urls import get_script_prefix, get_urlconf, reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from recognition.ml.openset import AMBIGUOUS, MODEL_VETO, NO_CLOSE_MATCH
from recognition.models import Identification, TrainedModel
from recognition.review_serializers import CorrectionSerializer
from recognition.services.identify import CORRECTED, PERSON_DELETED

REASONS = [NO_CLOSE_MATCH, AMBIGUOUS, MODEL_VETO, CORRECTED, PERSON_DELETED]


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


class CandidateSerializer(serializers.Serializer):
    person_id = serializers.IntegerField()
    person = serializers.CharField(help_text="Their name.")
    distance = serializers.FloatField(help_text="From the face to this person's centroid.")


class MatchSerializer(serializers.Serializer):
    face_image_id = serializers.IntegerField()
    person_id = serializers.IntegerField()
    distance = serializers.FloatField(help_text="From the face to this enrolled photo's face.")
    image_url = serializers.SerializerMethodField(help_text="The enrolled photo (API).")
    thumbnail_url = serializers.SerializerMethodField(help_text="Its face crop (web session).")

    def get_image_url(self, match: dict[str, Any]) -> str:
        url = reverse_ids("api:person-face-image", match["person_id"], match["face_image_id"])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url

    def get_thumbnail_url(self, match: dict[str, Any]) -> str:
        url = reverse_ids("people:face_thumbnail", match["face_image_id"])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


def reverse_ids(name: str, *ids: int) -> str:
    """``reverse(name, args=ids)`` for a route whose arguments are all ``<int:...>``: the
    route is reversed once (per script prefix and URLconf) into a template, as every
    identification answers with two URLs per matched photo and reverse() cost ~60 us."""
    pieces = _id_route(name, len(ids), get_script_prefix(), get_urlconf())
    if pieces is None:
        return reverse(name, args=list(ids))
    url = pieces[0]
    for value, piece in zip(ids, pieces[1:], strict=True):
        url += str(int(value)) + piece
    return url


_MARK = 918_273_645  # stands for the n-th argument as _MARK + n while reversing


@functools.lru_cache(maxsize=64)
def _id_route(name: str, count: int, prefix: str, urlconf: Any) -> tuple[str, ...] | None:
    """The text around each argument of ``name``'s URL (None if that text is ambiguous)."""
    url = reverse(name, args=[_MARK + n for n in range(count)], urlconf=urlconf)
    pieces = []
    for n in range(count):
        before, mark, url = url.partition(str(_MARK + n))
        if not mark or str(_MARK + n) in url:
            return None
        pieces.append(before)
    return (*pieces, url)


class FaceAnswerSerializer(serializers.Serializer):
    box = serializers.ListField(
        child=serializers.IntegerField(), help_text="[top, right, bottom, left], original pixels"
    )
    person = serializers.CharField(allow_null=True, help_text="Name, or null for unknown.")
    person_id = serializers.IntegerField(allow_null=True)
    confidence = serializers.FloatField(
        allow_null=True,
        help_text=(
            "The model's probability for the person named; null for an unknown face, and "
            "for a person with fewer than 5 photos (too few for the model's opinion to count)."
        ),
    )
    distance = serializers.FloatField(help_text="From the face to the nearest person's centroid.")
    reason = serializers.ChoiceField(
        choices=REASONS,
        allow_null=True,
        help_text=(
            "Why the face is unknown (null when named): no_close_match (even the nearest "
            "person is farther than the cut-off), ambiguous (two people nearly as near), "
            "model_veto (the classifier gives the nearest person, enrolled with 5 or more "
            "photos, almost no probability), "
            "corrected (a reviewer said a face like this is not that person), "
            "person_deleted (deleted since the model was trained)."
        ),
    )
    threshold = serializers.FloatField(
        help_text="The model's distance cut-off for the nearest person (after corrections)."
    )
    cutoff = serializers.FloatField(
        help_text=(
            "The largest distance at which the nearest person would be named: the "
            "threshold, or less when another person is nearly as near."
        )
    )
    candidates = CandidateSerializer(
        many=True, help_text="Up to three nearest enrolled people, nearest first."
    )
    matched_photos = MatchSerializer(
        many=True, help_text="Named faces: the person's enrolled photos nearest to this face."
    )
    review_face_id = serializers.IntegerField(
        allow_null=True,
        help_text=(
            "The face kept for review (FACE_REVIEW_KEEP_DAYS): an unknown one is in "
            "/api/unknown-faces/. Null when nothing is kept."
        ),
    )


class IdentificationResultSerializer(serializers.Serializer):
    faces = FaceAnswerSerializer(many=True)
    model_id = serializers.IntegerField()
    identification_id = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


def identification_result_data(result: dict[str, Any]) -> dict[str, Any]:
    """What ``IdentificationResultSerializer(result).data`` gives (the schema stays the
    serializer's), built directly: DRF's copy of every nested field for each answer cost
    ~1 ms of CPU per identification, 2-3% of the request. tests/test_api_review.py
    checks that the two agree."""
    match_urls = MatchSerializer()
    faces = []
    for face in result["faces"]:
        matches = [
            {
                **match,
                "image_url": match_urls.get_image_url(match),
                "thumbnail_url": match_urls.get_thumbnail_url(match),
            }
            for match in face["matched_photos"]
        ]
        faces.append({**face, "matched_photos": matches})
    return {**result, "faces": faces}


class IdentificationSerializer(serializers.ModelSerializer):
    user: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="Username; null when no user did it (a command, a deletion's retrain).",
    )
    corrections = CorrectionSerializer(many=True, read_only=True)

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
            "corrections",
        ]
        read_only_fields = fields


class IdentificationFilterSerializer(serializers.Serializer):
    """Query parameters of the audit trail's list (all optional)."""

    person = serializers.IntegerField(required=False, help_text="Only where this person was named")
    unknown_only = serializers.BooleanField(
        required=False, default=False, help_text="Only where at least one face was unknown"
    )
    channel = serializers.CharField(
        required=False, default="", help_text="web, api (any token), cli, prototype, ..."
    )
    since = serializers.DateField(required=False, help_text="From this day (inclusive)")
    until = serializers.DateField(required=False, help_text="Up to this day (inclusive)")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since and until and since > until:
            raise serializers.ValidationError({"since": "must not be after until."})
        return attrs

    def selector_kwargs(self) -> dict[str, Any]:
        data = self.validated_data
        return {
            "person_id": data.get("person"),
            "unknown_only": data["unknown_only"],
            "channel": data["channel"],
            "since": data.get("since"),
            "until": data.get("until"),
        }
