"""Reviewing answers: the unknown-faces inbox, "this is …", "not this person", crops."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from people.models import Person
from people.views import photo_response
from recognition.models import ReviewFace
from recognition.review_selectors import (
    inbox_groups,
    review_face_crop,
    review_faces_by_ids,
    review_faces_unknown,
)
from recognition.services.enroll import EnrollOutcome
from recognition.services.review import (
    ReviewError,
    review_face_not_person,
    review_faces_assign,
    review_faces_dismiss,
    review_keep_days,
)
from web.forms import ReviewAssignForm, ReviewFacesForm


def _back(request: HttpRequest) -> HttpResponseRedirect:
    """To the page the form was on (``next``), else the inbox."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("web:unknown_faces")
    return HttpResponseRedirect(target)


def _form_errors(request: HttpRequest, form: ReviewAssignForm | ReviewFacesForm) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, str(error))


def _report(request: HttpRequest, person: Person, outcomes: list[EnrollOutcome]) -> None:
    enrolled = sum(1 for outcome in outcomes if outcome.face)
    if enrolled:
        messages.success(
            request,
            f"{enrolled} face{'s' if enrolled != 1 else ''} enrolled for {person.name}. "
            "Train again so the model can name them.",
        )
    for outcome in outcomes:
        if outcome.rejection is not None:
            messages.warning(
                request, f"Not enrolled, kept in the inbox: {outcome.rejection.message}"
            )


class UnknownFaceListView(PermissionRequiredMixin, View):
    permission_required = "recognition.view_reviewface"

    def get(self, request: HttpRequest) -> HttpResponse:
        context = {
            "groups": inbox_groups(),
            "face_count": review_faces_unknown().count(),
            "keep_days": review_keep_days(),
            "people": Person.objects.order_by("name", "id"),
        }
        return render(request, "web/unknownface_list.html", context)


class UnknownFaceAssignView(PermissionRequiredMixin, View):
    permission_required = ("recognition.change_reviewface", "people.add_faceimage")

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ReviewAssignForm(request.POST)
        if not form.is_valid():
            _form_errors(request, form)
            return _back(request)
        person = form.cleaned_data["person"]
        if person is None and not request.user.has_perm("people.add_person"):
            messages.error(request, "You may not create people; choose an existing person.")
            return _back(request)
        faces = review_faces_by_ids(ids=form.cleaned_data["face"])
        try:
            person, outcomes = review_faces_assign(
                faces=faces, person=person, name=form.cleaned_data["name"], user=request.user
            )
        except ReviewError as exc:
            messages.error(request, exc.message)
            return _back(request)
        _report(request, person, outcomes)
        return _back(request)


class UnknownFaceDismissView(PermissionRequiredMixin, View):
    permission_required = "recognition.delete_reviewface"

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ReviewFacesForm(request.POST)
        if not form.is_valid():
            _form_errors(request, form)
            return _back(request)
        try:
            count = review_faces_dismiss(
                faces=review_faces_by_ids(ids=form.cleaned_data["face"]), user=request.user
            )
        except ReviewError as exc:
            messages.error(request, exc.message)
            return _back(request)
        messages.success(request, f"{count} face{'s' if count != 1 else ''} dismissed and deleted.")
        return _back(request)


class NotThisPersonView(PermissionRequiredMixin, View):
    permission_required = "recognition.add_correction"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        face = get_object_or_404(ReviewFace.objects.select_related("person"), pk=pk)
        name = face.person.name if face.person else ""
        try:
            review_face_not_person(review_face=face, user=request.user)
        except ReviewError as exc:
            messages.error(request, exc.message)
            return _back(request)
        messages.success(
            request,
            f"Recorded: face {face.index + 1} is not {name}. A face like it will no longer "
            f"be named {name}; it is now in Unknown faces.",
        )
        return _back(request)


class ReviewFaceCropView(PermissionRequiredMixin, View):
    permission_required = "recognition.view_reviewface"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        face = get_object_or_404(ReviewFace, pk=pk)
        try:
            return photo_response(review_face_crop(review_face=face))
        except FileNotFoundError:
            raise Http404("The face crop is missing.") from None
