"""The Flask prototype's two routes, kept for its users' scripts."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
