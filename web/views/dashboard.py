"""The landing page: the gallery, the active model and whether it is up to date."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from recognition import selectors


class DashboardView(LoginRequiredMixin, TemplateView):
    template_name = "web/dashboard_overview.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        active = selectors.model_active()
        return super().get_context_data(
            stats=selectors.gallery_stats(),
            active_model=active,
            training=selectors.model_training_current(),
            blocker=selectors.gallery_training_blocker(),
            stale=active is not None and selectors.model_is_stale(model=active),
            **kwargs,
        )
