"""The logged-in web UI."""

from __future__ import annotations

from django.urls import path

from web.views import dashboard, identify, people, photos, review, training

app_name = "web"

urlpatterns = [
    path("", dashboard.DashboardView.as_view(), name="dashboard"),
    path("people/", people.PersonListView.as_view(), name="person_list"),
    path("people/new/", people.PersonCreateView.as_view(), name="person_create"),
    path("people/<int:pk>/", photos.PersonDetailView.as_view(), name="person_detail"),
    path("people/<int:pk>/edit/", people.PersonEditView.as_view(), name="person_edit"),
    path("people/<int:pk>/delete/", people.PersonDeleteView.as_view(), name="person_delete"),
    path("people/<int:pk>/merge/", people.PersonMergeView.as_view(), name="person_merge"),
    path("people/<int:pk>/photos/", photos.PhotoUploadView.as_view(), name="photo_upload"),
    path(
        "people/<int:person_pk>/photos/<int:pk>/delete/",
        photos.PhotoDeleteView.as_view(),
        name="photo_delete",
    ),
    path("train/", training.TrainingView.as_view(), name="training"),
    path("train/start/", training.TrainingStartView.as_view(), name="training_start"),
    path("train/progress/", training.TrainingProgressView.as_view(), name="training_progress"),
    path(
        "train/models/<int:pk>/activate/",
        training.ModelActivateView.as_view(),
        name="model_activate",
    ),
    path("identify/", identify.IdentifyView.as_view(), name="identify"),
    path("unknown-faces/", review.UnknownFaceListView.as_view(), name="unknown_faces"),
    path("unknown-faces/assign/", review.UnknownFaceAssignView.as_view(), name="unknown_assign"),
    path(
        "unknown-faces/dismiss/",
        review.UnknownFaceDismissView.as_view(),
        name="unknown_dismiss",
    ),
    path("review/faces/<int:pk>/crop/", review.ReviewFaceCropView.as_view(), name="review_crop"),
    path(
        "review/faces/<int:pk>/not-this-person/",
        review.NotThisPersonView.as_view(),
        name="review_not_person",
    ),
    path(
        "identifications/",
        identify.IdentificationListView.as_view(),
        name="identification_list",
    ),
]
