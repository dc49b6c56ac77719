"""The sign-in pages: log in (by password or single sign-on), change and reset a password.

Django's own views and forms, with our templates (templates/registration/). What is ours: the
login page offers single sign-on when it is configured, and setting a new password — by a reset
link or on the change page — lifts the account's login lock-out (django-axes): whoever proves
they own the account's email, or is signed in already, is no password-guesser.
"""

from __future__ import annotations

from typing import Any

from axes.utils import reset as reset_lockouts
from django.contrib.auth import views as auth_views
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.http import HttpResponse

from accounts import oidc


def lift_lockout(user: AbstractBaseUser) -> int:
    """Forget every failed login of `user`'s username, from every address; returns how many."""
    return int(reset_lockouts(username=user.get_username()))


class LoginView(auth_views.LoginView):
    """/accounts/login/: username and password, and "Sign in with single sign-on" if set up."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["single_sign_on"] = oidc.is_configured()
        return context


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """The page a reset email links to: a new password, and the lock-out lifted."""

    def form_valid(self, form: SetPasswordForm[Any]) -> HttpResponse:
        response = super().form_valid(form)
        lift_lockout(form.user)
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    """/accounts/password/change/: a new password for the signed-in person."""

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        response = super().form_valid(form)
        lift_lockout(form.user)
        return response
