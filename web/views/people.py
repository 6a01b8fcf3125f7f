"""People: the searchable list, create, edit and delete."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.functional import cached_property
from django.views import View
from django.views.generic import FormView, ListView

from people.models import FaceImage, Person
from people.selectors import person_list, person_same_name
from people.services import PersonNameTaken, person_create, person_update
from recognition import selectors
from recognition.services.gallery import person_remove
from recognition.services.merge import MergeError, person_merge
from web.forms import PersonForm, PersonMergeForm

PEOPLE_PER_PAGE = 20


class PersonListView(PermissionRequiredMixin, ListView):
    permission_required = "people.view_person"
    template_name = "web/person_list.html"
    context_object_name = "people"
    paginate_by = PEOPLE_PER_PAGE

    def get_queryset(self) -> QuerySet[Person]:
        first_photo = FaceImage.objects.filter(person=OuterRef("pk")).order_by("uploaded_at", "id")
        return person_list(search=self.request.GET.get("q", "")).annotate(
            thumbnail_id=Subquery(first_photo.values("pk")[:1])
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(search=self.request.GET.get("q", "").strip(), **kwargs)


def _form_error(form: PersonForm, exc: ValidationError) -> None:
    # A model ValidationError names its fields (e.g. external_id already used): show it
    # next to that field when the form has one, above the form otherwise.
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _name_taken(view: FormView, form: PersonForm, exc: PersonNameTaken) -> HttpResponse:
    """The form again, saying who has the name, with a box to confirm a namesake."""
    form.offer_duplicate_name()
    context = view.get_context_data(form=form, name_taken=exc)
    return view.render_to_response(context, status=409)


class PersonCreateView(PermissionRequiredMixin, FormView):
    permission_required = "people.add_person"
    template_name = "web/person_form.html"
    form_class = PersonForm

    def form_valid(self, form: PersonForm) -> HttpResponse:
        try:
            person = person_create(**form.cleaned_data, created_by=self.request.user)
        except PersonNameTaken as exc:
            return _name_taken(self, form, exc)
        except ValidationError as exc:
            _form_error(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"{person.name} was added. Now add their photos.")
        return HttpResponseRedirect(person.get_absolute_url())


class PersonEditView(PermissionRequiredMixin, FormView):
    permission_required = "people.change_person"
    template_name = "web/person_form.html"
    form_class = PersonForm

    @cached_property
    def person(self) -> Person:
        # Looked up on first use, i.e. after the permission check (no 404 for strangers).
        return get_object_or_404(Person, pk=self.kwargs["pk"])

    def get_initial(self) -> dict[str, Any]:
        person = self.person
        return {"name": person.name, "external_id": person.external_id, "notes": person.notes}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(person=self.person, **kwargs)

    def form_valid(self, form: PersonForm) -> HttpResponse:
        try:
            person = person_update(person=self.person, **form.cleaned_data)
        except PersonNameTaken as exc:
            return _name_taken(self, form, exc)
        except ValidationError as exc:
            _form_error(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"{person.name} was saved.")
        return HttpResponseRedirect(person.get_absolute_url())


class PersonDeleteView(PermissionRequiredMixin, View):
    permission_required = "people.delete_person"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        person = get_object_or_404(Person, pk=pk)
        context = {
            "person": person,
            "photo_count": person.faces.count(),
            "model_exists": selectors.model_active() is not None,
        }
        return render(request, "web/person_confirm_delete.html", context)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        person = get_object_or_404(Person, pk=pk)
        name = person.name
        person_remove(person=person)
        messages.success(request, f"{name} and their photos were deleted.")
        return HttpResponseRedirect(reverse("web:person_list"))


class PersonMergeView(PermissionRequiredMixin, View):
    """Two records of one person: move this one's photos to the other, delete this one."""

    permission_required = ("people.change_person", "people.delete_person")

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        source = get_object_or_404(Person, pk=pk)
        initial = {}
        namesakes = person_same_name(name=source.name, exclude_pk=source.pk)
        if namesakes.exists():
            initial["into"] = namesakes.first()
        form = PersonMergeForm(source=source, initial=initial)
        return self.render_page(request, source, form)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        source = get_object_or_404(Person, pk=pk)
        form = PersonMergeForm(request.POST, source=source)
        if not form.is_valid():
            return self.render_page(request, source, form, status=400)
        name = source.name
        try:
            result = person_merge(source=source, into=form.cleaned_data["into"])
        except MergeError as exc:
            form.add_error(None, str(exc))
            return self.render_page(request, source, form, status=400)
        photos = f"{result.moved} photo{pluralize(result.moved)}"
        text = f"{name} was merged into {result.person.name}: {photos} moved."
        if result.duplicates:
            text += f" {result.duplicates} already there were not copied twice."
        if result.retrain is not None:
            text += " A retrain was queued."
        messages.success(request, text)
        return HttpResponseRedirect(result.person.get_absolute_url())

    @staticmethod
    def render_page(
        request: HttpRequest, source: Person, form: PersonMergeForm, status: int = 200
    ) -> HttpResponse:
        context = {"person": source, "form": form, "photo_count": source.faces.count()}
        return render(request, "web/person_merge.html", context, status=status)
