"""Login and logout pages (the API's token routes live in facerecog_site/api_urls.py)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts.forms import LockoutAwareAuthenticationForm
from accounts.views import LogoutView

app_name = "accounts"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True,
            authentication_form=LockoutAwareAuthenticationForm,
        ),
        name="login",
    ),
    # Django's LogoutView accepts POST only, so a link cannot log anyone out (CSRF).
    path("logout/", LogoutView.as_view(), name="logout"),
]
