"""Photo files, served to authorised users only (there is no public media URL)."""

from __future__ import annotations

from django.urls import URLPattern, path

from people import views

app_name = "people"

urlpatterns: list[URLPattern] = [
    path("<int:pk>/", views.face_image, name="face_image"),
    path("<int:pk>/thumbnail/", views.face_thumbnail, name="face_thumbnail"),
]
