"""Identify: who is in this photo? And the audit trail of past answers."""

from __future__ import annotations

import base64
from typing import Any

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View
from django.views.generic import ListView

from people.models import Person
from recognition import selectors
from recognition.models import Identification
from recognition.rejections import PhotoRejected
from recognition.services.identify import ModelLoadError, NoActiveModel, face_identify
from web.forms import IdentificationFilterForm, IdentifyForm

IDENTIFICATIONS_PER_PAGE = 25


class IdentifyView(PermissionRequiredMixin, View):
    permission_required = "recognition.add_identification"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_form(request, IdentifyForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = IdentifyForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_form(request, form, status=400)
        upload = form.cleaned_data["image"]
        try:
            result = face_identify(
                source=upload,
                name=upload.name or "photo",
                user=request.user,
                channel="web",
                annotate=True,
            )
        except PhotoRejected as exc:
            form.add_error("image", exc.message)
            return self.render_form(request, form, status=400)
        except ModelLoadError as exc:
            form.add_error(None, f"The active model cannot be used: {exc}")
            return self.render_form(request, form, status=409)
        except NoActiveModel:
            # The page's own "no model" notice says it; a form error would repeat it.
            return self.render_form(request, IdentifyForm(), status=409)
        crops = result.face_crops or [b""] * len(result.faces)
        context = {
            "result": result,
            "image_uri": _data_uri(result.annotated_jpeg),
            "rows": [
                (number, face, _data_uri(crop))
                for number, (face, crop) in enumerate(zip(result.faces, crops, strict=True), 1)
            ],
            "photo_name": upload.name,
            "known_count": sum(face.person_id is not None for face in result.faces),
            "form": IdentifyForm(),
            "people": Person.objects.order_by("name", "id"),
        }
        return render(request, "web/identify_result.html", context)

    @staticmethod
    def render_form(request: HttpRequest, form: IdentifyForm, status: int = 200) -> HttpResponse:
        context = {"form": form, "active_model": selectors.model_active()}
        return render(request, "web/identify_form.html", context, status=status)


def _data_uri(jpeg: bytes | None) -> str | None:
    if not jpeg:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


class IdentificationListView(PermissionRequiredMixin, ListView):
    permission_required = "recognition.view_identification"
    template_name = "web/identification_list.html"
    context_object_name = "identifications"
    paginate_by = IDENTIFICATIONS_PER_PAGE

    def get_queryset(self) -> QuerySet[Identification]:
        self.filters = IdentificationFilterForm(
            self.request.GET or None, channels=selectors.identification_channels()
        )
        if self.filters.is_bound and not self.filters.is_valid():
            return Identification.objects.none()
        kwargs = self.filters.selector_kwargs() if self.filters.is_bound else {}
        return selectors.identification_list(**kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        filtered = self.filters.is_bound and any(
            value for key, value in self.request.GET.items() if key != "page"
        )
        return super().get_context_data(filters=self.filters, filtered=filtered, **kwargs)
