"""One person's page: the photo gallery, uploads (files, drag and drop, webcam), deletes."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.views import View

from people.models import FaceImage, Person
from people.services import face_image_delete
from recognition import selectors
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


@dataclass
class GalleryPhoto:
    face: FaceImage
    state: str
    in_model: bool


def _gallery(person: Person, active: TrainedModel | None) -> list[GalleryPhoto]:
    """Each photo with its state: part of the active model, or added since it trained."""
    read_at = selectors.model_gallery_read_at(model=active)
    photos = []
    for face in person.faces.select_related("embedding"):
        if not hasattr(face, "embedding"):
            # Re-embedding with another engine found no usable face in it (the job lists it).
            photos.append(GalleryPhoto(face, "No usable face for the current face engine", False))
        elif selectors.face_image_in_model(face_image=face, gallery_read_at=read_at):
            photos.append(GalleryPhoto(face, "Enrolled · in the active model", True))
        else:
            photos.append(GalleryPhoto(face, "Enrolled · waiting for the next training", False))
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
        context = {
            "person": person,
            "photos": _gallery(person, selectors.model_active()),
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
            UploadResult(o.name, True, o.name)
            if o.rejection is None
            else UploadResult(o.name, False, o.rejection.message, o.rejection.code)
            for o in outcomes
        ]
        request.session[_results_key(person)] = [asdict(result) for result in results]
        enrolled = sum(result.ok for result in results)
        refused = len(results) - enrolled
        summary = f"{enrolled} of {len(results)} photos enrolled for {person.name}."
        if refused:
            messages.warning(request, f"{summary} {refused} refused: see why below.")
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
