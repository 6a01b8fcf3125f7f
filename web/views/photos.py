"""One person's page: the photo gallery, uploads (files, drag and drop, webcam), deletes."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.defaultfilters import pluralize
from django.views import View

from people.models import FaceImage, Person
from people.services import face_image_delete
from recognition import selectors
from recognition.consistency import GalleryWarning, person_photo_warnings
from recognition.ml.engine import EngineUnavailable
from recognition.models import TrainedModel
from recognition.services.enroll import PhotoUpload, face_images_enroll
from web.forms import PhotoUploadForm


def _results_key(person: Person) -> str:
    return f"web:upload-results:{person.pk}"


@dataclass
class UploadResult:
    name: str
    ok: bool
    message: str
    code: str = ""  # the rejection's stable code, shown beside the sentence
    warning: str = ""  # enrolled, but it may not show this person: why
    warning_code: str = ""


@dataclass
class GalleryPhoto:
    face: FaceImage
    state: str
    in_model: bool
    warning: GalleryWarning | None = None


def _gallery(person: Person, active: TrainedModel | None) -> list[GalleryPhoto]:
    """Each photo with its state: part of the active model, or added since it trained."""
    read_at = selectors.model_gallery_read_at(model=active)
    warnings = person_photo_warnings(person=person)
    photos = []
    for face in person.faces.select_related("embedding"):
        if not hasattr(face, "embedding"):
            # Re-embedding with another engine found no usable face in it (the job lists it).
            photos.append(GalleryPhoto(face, "No usable face for the current face engine", False))
        elif selectors.face_image_in_model(face_image=face, gallery_read_at=read_at):
            photos.append(GalleryPhoto(face, "Enrolled · in the active model", True))
        else:
            photos.append(GalleryPhoto(face, "Enrolled · waiting for the next training", False))
    for photo in photos:
        photo.warning = warnings.get(photo.face.pk)
    return photos


class PersonDetailView(PermissionRequiredMixin, View):
    permission_required = "people.view_person"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        person = get_object_or_404(Person, pk=pk)
        return self.render_page(request, person, PhotoUploadForm())

    @staticmethod
    def render_page(
        request: HttpRequest, person: Person, form: PhotoUploadForm, status: int = 200
    ) -> HttpResponse:
        results = request.session.pop(_results_key(person), None) or []
        photos = _gallery(person, selectors.model_active())
        context = {
            "person": person,
            "photos": photos,
            "flagged": sum(photo.warning is not None for photo in photos),
            "form": form,
            "results": [UploadResult(**result) for result in results],
        }
        return render(request, "web/person_detail.html", context, status=status)


class PhotoUploadView(PermissionRequiredMixin, View):
    """Enrolls every chosen photo on its own; each gets its own result line."""

    permission_required = "people.add_faceimage"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        person = get_object_or_404(Person, pk=pk)
        form = PhotoUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return PersonDetailView.render_page(request, person, form, status=400)
        try:
            outcomes = face_images_enroll(
                person=person,
                uploads=[PhotoUpload.from_file(upload) for upload in form.cleaned_data["photos"]],
                uploaded_by=request.user,
            )
        except EngineUnavailable as exc:  # nothing was stored; the message names the fix
            messages.error(request, str(exc))
            return PersonDetailView.render_page(request, person, form, status=503)
        results = [
            UploadResult(
                o.name,
                True,
                o.name,
                warning=o.warning.detail if o.warning else "",
                warning_code=o.warning.code if o.warning else "",
            )
            if o.rejection is None
            else UploadResult(o.name, False, o.rejection.message, o.rejection.code)
            for o in outcomes
        ]
        request.session[_results_key(person)] = [asdict(result) for result in results]
        enrolled = sum(result.ok for result in results)
        refused = len(results) - enrolled
        total = len(results)
        summary = f"{enrolled} of {total} photo{pluralize(total)} enrolled for {person.name}."
        flagged = sum(bool(result.warning) for result in results)
        if flagged:
            summary += f" {flagged} may not show {person.name}: see below."
        if refused:
            messages.warning(request, f"{summary} {refused} refused: see why below.")
        elif flagged:
            messages.warning(request, summary)
        else:
            messages.success(request, summary)
        return HttpResponseRedirect(f"{person.get_absolute_url()}#upload-results")


class PhotoDeleteView(PermissionRequiredMixin, View):
    permission_required = "people.delete_faceimage"

    def get(self, request: HttpRequest, person_pk: int, pk: int) -> HttpResponse:
        face = get_object_or_404(FaceImage, pk=pk, person_id=person_pk)
        return render(request, "web/photo_confirm_delete.html", {"face": face})

    def post(self, request: HttpRequest, person_pk: int, pk: int) -> HttpResponse:
        face = get_object_or_404(
            FaceImage.objects.select_related("person"), pk=pk, person_id=person_pk
        )
        person = face.person
        face_image_delete(face_image=face)
        messages.success(request, "The photo was deleted. Retrain to take it out of the model.")
        return HttpResponseRedirect(person.get_absolute_url())
