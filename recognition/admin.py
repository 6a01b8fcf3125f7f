"""Admin: trained models (train, activate), and read-only embeddings and audit trail.

People and their photos are registered by recognition.gallery_admin (imported below):
their admin enrolls photos and retrains on delete, which people/ may not import.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from recognition import gallery_admin  # noqa: F401  (registers Person with the admin)
from recognition.models import Correction, Embedding, Identification, ReembedJob, TrainedModel
from recognition.services.activation import ModelNotActivatable, model_activate
from recognition.services.reembed import reembed_request
from recognition.services.train import TrainingError, model_train_request


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TrainedModel)
class TrainedModelAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "status",
        "is_active",
        "engine",
        "progress",
        "accuracy",
        "people_count",
        "embedding_count",
        "requested_at",
        "finished_at",
    )
    list_filter = ("status", "is_active")
    actions = ["train_new_model", "activate"]
    readonly_fields = [f.name for f in TrainedModel._meta.fields]

    @admin.display(description="progress")
    def progress(self, obj: TrainedModel) -> str:
        return obj.progress_text

    @admin.display(description="validation accuracy")
    def accuracy(self, obj: TrainedModel) -> str:
        value = obj.validation_accuracy
        return "-" if value is None else f"{value:.1%}"

    def has_activate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("recognition.activate_trainedmodel")

    def has_train_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("recognition.add_trainedmodel")

    @admin.action(description="Train a new model", permissions=["train"])
    def train_new_model(self, request: HttpRequest, queryset: QuerySet[TrainedModel]) -> None:
        self._request_training(request)

    @admin.action(description="Activate (the one selected model)", permissions=["activate"])
    def activate(self, request: HttpRequest, queryset: QuerySet[TrainedModel]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one model to activate.", messages.ERROR)
            return
        try:
            model = model_activate(model=queryset.get())
        except ModelNotActivatable as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"Model #{model.pk} is now active.", messages.SUCCESS)

    def _request_training(self, request: HttpRequest) -> None:
        try:
            job = model_train_request(requested_by=request.user)
        except TrainingError as exc:
            self.message_user(request, f"Training not started: {exc}", messages.ERROR)
            return
        self.message_user(request, f"Training job #{job.pk} is {job.status}.", messages.SUCCESS)

    def get_urls(self) -> list[URLPattern]:
        train = self.admin_site.admin_view(require_POST(self.train_view))
        return [
            path("train/", train, name="recognition_trainedmodel_train"),
            *super().get_urls(),
        ]

    def train_view(self, request: HttpRequest) -> HttpResponse:
        """The "Train a new model" button (works with no model to select yet)."""
        if self.has_train_permission(request):
            self._request_training(request)
        else:
            self.message_user(request, "You may not request a training.", messages.ERROR)
        return HttpResponseRedirect(reverse("admin:recognition_trainedmodel_changelist"))

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_train": self.has_train_permission(request)}
        return super().changelist_view(request, extra_context)


@admin.register(ReembedJob)
class ReembedJobAdmin(ReadOnlyAdmin):
    """Re-embedding jobs with their progress, and the button that starts one."""

    list_display = (
        "id",
        "status",
        "engine",
        "progress_text",
        "reembedded",
        "unusable_count",
        "requested_at",
        "finished_at",
        "trained_model",
    )
    list_filter = ("status", "engine")
    readonly_fields = [
        *[f.name for f in ReembedJob._meta.fields if f.name != "unusable"],
        "unusable_photos",
    ]

    @admin.display(description="progress")
    def progress_text(self, obj: ReembedJob) -> str:
        return f"{obj.done} of {obj.total} photos" if obj.total else "-"

    @admin.display(description="no usable face")
    def unusable_count(self, obj: ReembedJob) -> int:
        return len(obj.unusable or [])

    @admin.display(description="photos without a usable face")
    def unusable_photos(self, obj: ReembedJob) -> str:
        lines = [
            f"{photo['file']} ({photo['person']}, photo #{photo['face_image_id']}): "
            f"{photo['detail']}"
            for photo in obj.unusable or []
        ]
        return "\n".join(lines) or "-"

    def has_run_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("recognition.run_reembedjob")

    def get_urls(self) -> list[URLPattern]:
        run = self.admin_site.admin_view(require_POST(self.run_view))
        return [path("run/", run, name="recognition_reembedjob_run"), *super().get_urls()]

    def run_view(self, request: HttpRequest) -> HttpResponse:
        """The "Re-embed every photo" button: queue the job (or show the one going)."""
        if not self.has_run_permission(request):
            self.message_user(request, "You may not re-embed photos.", messages.ERROR)
        else:
            job = reembed_request(requested_by=request.user)
            self.message_user(
                request,
                f"Re-embedding job #{job.pk} ({job.engine}) is {job.status}: "
                f"{job.done} of {job.total} photos.",
                messages.SUCCESS,
            )
        return HttpResponseRedirect(reverse("admin:recognition_reembedjob_changelist"))

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "can_run": self.has_run_permission(request),
            "face_engine": settings.FACE_ENGINE,
        }
        return super().changelist_view(request, extra_context)


@admin.register(Embedding)
class EmbeddingAdmin(ReadOnlyAdmin):
    list_display = ("id", "face_image", "engine", "engine_version", "created_at")
    list_select_related = ("face_image__person",)
    readonly_fields = ("face_image", "engine", "engine_version", "created_at")
    exclude = ("data",)


@admin.register(Identification)
class IdentificationAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "user", "channel", "model", "face_count", "known_count")
    list_filter = ("channel",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "user",
        "channel",
        "created_at",
        "model",
        "image_sha256",
        "face_count",
        "known_count",
        "results",
        "people",
    )


@admin.register(Correction)
class CorrectionAdmin(ReadOnlyAdmin):
    """Reviewers' corrections (the audit of the review loop); made on the web or the API."""

    list_display = ("id", "created_at", "kind", "person", "identification", "face_index", "user")
    list_filter = ("kind",)
    list_select_related = ("person", "user", "identification")
    date_hierarchy = "created_at"
    readonly_fields = ("kind", "identification", "face_index", "person", "user", "created_at")
    exclude = ("data", "encoder")
