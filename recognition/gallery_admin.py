"""Admin for people and their face photos (registered by recognition.admin).

Photos are added only through the enrollment service (a new photo is checked when the
form is validated, so a refusal is shown on the form with its reason and nothing is
stored), and removed only through the services that also delete their files.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from people.models import FaceImage, Person
from people.services import face_image_delete
from recognition.gallery_admin_forms import (
    FaceImageUploadForm,
    FaceImageUploadFormSet,
    PersonAdminForm,
)
from recognition.models import Embedding
from recognition.services.enroll import PhotoUpload, face_images_enroll
from recognition.services.gallery import person_remove
from recognition.services.merge import person_merge


class FaceImageInline(admin.TabularInline):
    """Enrolled photos: read-only, with thumbnail and embedding; deletable."""

    model = FaceImage
    extra = 0
    verbose_name = "enrolled photo"
    fields = readonly_fields = (
        "thumbnail",
        "original_name",
        "pixel_size",
        "face_box",
        "embedding_summary",
        "uploaded_by",
        "uploaded_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[FaceImage]:
        return super().get_queryset(request).select_related("embedding", "uploaded_by")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # new photos go through FaceImageUploadInline

    @admin.display(description="photo")
    def thumbnail(self, face: FaceImage) -> str:
        return format_html(
            '<a href="{}" target="_blank"><img src="{}" alt="{}" style="max-height:80px"></a>',
            reverse("people:face_image", args=[face.pk]),
            reverse("people:face_thumbnail", args=[face.pk]),
            face.original_name or f"photo {face.pk}",
        )

    @admin.display(description="size")
    def pixel_size(self, face: FaceImage) -> str:
        return f"{face.width}x{face.height}"

    @admin.display(description="face (top, right, bottom, left)")
    def face_box(self, face: FaceImage) -> str:
        return ", ".join(str(value) for value in face.box)

    @admin.display(description="embedding")
    def embedding_summary(self, face: FaceImage) -> str:
        embedding = getattr(face, "embedding", None)
        if embedding is None:
            return "none"
        vector = embedding.vector()
        return f"{vector.shape[0]} x {vector.dtype}, {embedding.engine} {embedding.engine_version}"


class FaceImageUploadInline(admin.TabularInline):
    """Blank rows for new photos; each is enrolled when the person is saved."""

    model = FaceImage
    form = FaceImageUploadForm
    formset = FaceImageUploadFormSet
    extra = 3
    can_delete = False
    verbose_name = "new photo"
    verbose_name_plural = "add photos"
    fields = ("photo",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[FaceImage]:
        return FaceImage.objects.none()

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("people.add_faceimage")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_add_permission(request, obj)


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = (
        "face",
        "name",
        "external_id",
        "photo_count",
        "embedding_count",
        "created_at",
    )
    list_display_links = ("face", "name")
    search_fields = ("name", "external_id")
    form = PersonAdminForm
    fields = (
        "name",
        "allow_duplicate_name",
        "external_id",
        "notes",
        "created_by",
        "created_at",
        "updated_at",
    )
    readonly_fields = ("created_by", "created_at", "updated_at")
    inlines = (FaceImageInline, FaceImageUploadInline)
    actions = ("merge_people",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Person]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                photo_total=Count("faces", distinct=True),
                embedding_total=Count("faces__embedding", distinct=True),
                first_face_id=Subquery(
                    FaceImage.objects.filter(person=OuterRef("pk"))
                    .order_by("uploaded_at", "id")
                    .values("pk")[:1]
                ),
            )
        )

    @admin.display(description="face")
    def face(self, person: Any) -> str:
        if not person.first_face_id:
            return "—"
        return format_html(
            '<img src="{}" alt="" width="48" height="48" style="border-radius:4px">',
            reverse("people:face_thumbnail", args=[person.first_face_id]),
        )

    @admin.display(description="photos", ordering="photo_total")
    def photo_count(self, person: Any) -> int:
        return int(person.photo_total)

    @admin.display(description="embeddings", ordering="embedding_total")
    def embedding_count(self, person: Any) -> int:
        return int(person.embedding_total)

    def save_model(self, request: HttpRequest, obj: Person, form: ModelForm, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool
    ) -> None:
        if isinstance(formset, FaceImageUploadFormSet):
            self._enroll_uploads(request, form.instance, formset)
            return
        formset.save(commit=False)
        for face in formset.deleted_objects:
            face_image_delete(face_image=face)

    def _enroll_uploads(
        self, request: HttpRequest, person: Person, formset: FaceImageUploadFormSet
    ) -> None:
        # The admin's change message reads these, which formset.save() would have set.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        uploads = [
            PhotoUpload(name=upload_form.photo_name, content=upload_form.analysis)
            for upload_form in formset.forms
            if isinstance(upload_form, FaceImageUploadForm) and upload_form.analysis is not None
        ]
        outcomes = face_images_enroll(person=person, uploads=uploads, uploaded_by=request.user)
        for outcome in outcomes:
            if outcome.rejection is not None:
                # Checked when the form was validated: a concurrent upload of the same
                # photo won the race, or the storage failed (storage_unavailable).
                rejection = outcome.rejection
                messages.error(request, f"{rejection.message} (reason: {rejection.code})")
            elif outcome.face is not None:
                formset.new_objects.append(outcome.face)
                if outcome.warning is not None:
                    warning = outcome.warning
                    messages.warning(request, f"{outcome.name}: {warning.detail} ({warning.code})")

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Photos and embeddings go with their person (person_remove); their own admins
        # being read-only (embeddings) must not block deleting the person.
        perms_needed -= {str(FaceImage._meta.verbose_name), str(Embedding._meta.verbose_name)}
        return deleted, counts, perms_needed, protected

    @admin.action(
        description="Merge the selected people into the first created (same person)",
        permissions=("change", "delete"),
    )
    def merge_people(self, request: HttpRequest, queryset: QuerySet[Person]) -> None:
        people = list(queryset.order_by("created_at", "id"))
        if len(people) < 2:
            self.message_user(request, "Select two or more records to merge.", messages.ERROR)
            return
        keep, moved, duplicates = people[0], 0, 0
        for source in people[1:]:
            result = person_merge(source=source, into=keep)
            moved, duplicates = moved + result.moved, duplicates + result.duplicates
        self.message_user(
            request,
            f"Merged {len(people) - 1} record(s) into {keep.name} (#{keep.pk}): {moved} "
            f"photo(s) moved, {duplicates} duplicate(s) dropped; a retrain was queued if a "
            "model exists.",
            messages.SUCCESS,
        )

    def delete_model(self, request: HttpRequest, obj: Person) -> None:
        person_remove(person=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Person]) -> None:
        for person in queryset:
            person_remove(person=person)
