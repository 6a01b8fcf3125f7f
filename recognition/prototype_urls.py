"""The Flask prototype's two routes, kept for its users' scripts."""

from __future__ import annotations

from django.urls import URLPattern, path

from recognition.prototype_views import PredictFaceApi, TrainModelApi

urlpatterns: list[URLPattern] = [
    path("train_model", TrainModelApi.as_view(), name="prototype_train_model"),
    path("predict_face", PredictFaceApi.as_view(), name="prototype_predict_face"),
]
