"""Photo files, served to authorised users only (there is no public media URL)."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "people"

urlpatterns: list[URLPattern] = []
