"""Training: start one, watch its progress, browse the model history, roll back."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View

from recognition import selectors
from recognition.models import TrainedModel
from recognition.services.activation import ModelNotActivatable, model_activate
from recognition.services.train import TrainingError, model_train_request
from web.charts import training_charts

MODELS_SHOWN = 25


def progress(model: TrainedModel | None) -> dict[str, Any] | None:
    """What the progress bar shows for one model (the JSON view and the page share it)."""
    if model is None:
        return None
    return {
        "id": model.pk,
        "status": model.status,
        "status_label": model.get_status_display(),
        "epoch": model.epoch,
        "epochs": model.epochs or 0,
        "percent": round(100 * model.progress),
        "finished": model.is_finished,
        "text": model.progress_text,
    }


class TrainingView(PermissionRequiredMixin, View):
    permission_required = "recognition.view_trainedmodel"

    def get(self, request: HttpRequest) -> HttpResponse:
        models = list(selectors.model_list()[:MODELS_SHOWN])
        current = selectors.model_training_current()
        shown = current or (models[0] if models else None)
        chart_model = _chart_model(models, request.GET.get("model"))
        context = {
            "models": models,
            "current": current,
            "progress": progress(shown),
            "active_model": selectors.model_active(),
            "blocker": None if current else selectors.gallery_training_blocker(),
            "chart_model": chart_model,
            "charts": training_charts((chart_model.metrics or {}).get("history"))
            if chart_model
            else [],
        }
        return render(request, "web/training_overview.html", context)


def _chart_model(models: list[TrainedModel], wanted: str | None) -> TrainedModel | None:
    """The model picked with ?model=<id>, else the newest one that has curves."""
    for model in models:
        if wanted and str(model.pk) == wanted:
            return model
    with_history = [model for model in models if (model.metrics or {}).get("history")]
    return with_history[0] if with_history else None


class TrainingProgressView(PermissionRequiredMixin, View):
    """Polled by the training page: the running (or latest) model's progress as JSON."""

    permission_required = "recognition.view_trainedmodel"
    raise_exception = True  # a script wants 403, not a login page

    def get(self, request: HttpRequest) -> JsonResponse:
        model = selectors.model_training_current() or selectors.model_list().first()
        return JsonResponse({"model": progress(model)})


class TrainingStartView(PermissionRequiredMixin, View):
    permission_required = "recognition.add_trainedmodel"

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            model = model_train_request(requested_by=request.user)
        except TrainingError as exc:
            messages.error(request, f"Training not started: {exc}")
            return HttpResponseRedirect(reverse("web:training"))
        model.refresh_from_db()
        if model.status == TrainedModel.Status.FAILED:
            messages.error(request, f"Training #{model.pk} failed: {model.error}")
        elif model.status == TrainedModel.Status.SUCCEEDED:
            messages.success(request, f"Training #{model.pk} finished; the new model is active.")
        else:
            messages.info(request, f"Training #{model.pk} started. Progress is shown below.")
        return HttpResponseRedirect(reverse("web:training"))


class ModelActivateView(PermissionRequiredMixin, View):
    """Make an earlier model the active one (a rollback), after a confirmation."""

    permission_required = "recognition.activate_trainedmodel"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        model = get_object_or_404(TrainedModel, pk=pk)
        context = {"model": model, "active_model": selectors.model_active()}
        return render(request, "web/model_confirm_activate.html", context)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        model = get_object_or_404(TrainedModel, pk=pk)
        try:
            model_activate(model=model)
        except ModelNotActivatable as exc:
            messages.error(request, f"Model #{model.pk} was not activated: {exc}")
        else:
            messages.success(request, f"Model #{model.pk} is now active.")
        return HttpResponseRedirect(reverse("web:training"))
