"""The web login form, which says when an account is locked out."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from accounts.backends import client_address, lockout_remaining


class LockoutAwareAuthenticationForm(AuthenticationForm):
    """Django's login form, but a lockout is reported as one, not as a wrong password.

    django.contrib.auth.authenticate() swallows the backend's LoginLockedOut, so the
    form asks the lockout counters itself.
    """

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except forms.ValidationError:
            self._raise_if_locked()
            raise

    def _raise_if_locked(self) -> None:
        username = self.cleaned_data.get("username") or ""
        remaining = lockout_remaining(username=username, address=client_address(self.request))
        if remaining:
            minutes = max(1, (remaining + 59) // 60)
            raise forms.ValidationError(
                f"Too many failed logins. Try again in {minutes} minute"
                f"{'s' if minutes != 1 else ''}.",
                code="locked_out",
            )
