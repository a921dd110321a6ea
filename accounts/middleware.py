"""Users with a one-time password choose their own before they see anything else."""

from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from accounts.actions import must_change_password

SESSION_KEY = "accounts.must_change_password"


def note_password_change_required(sender, request, user, **kwargs):
    """On sign-in (the user_logged_in signal): one query then, none on later requests."""
    if request is not None and hasattr(request, "session") and must_change_password(user):
        request.session[SESSION_KEY] = True


class PasswordChangeRequiredMiddleware:
    """Sends a user who still has a one-time password to the password change page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and session.get(SESSION_KEY) and request.user.is_authenticated:
            allowed = (reverse("password_change"), reverse("logout"))
            if request.path not in allowed and not request.path.startswith("/static/"):
                if getattr(request, "htmx", False):
                    return HttpResponseClientRedirect(reverse("password_change"))
                return redirect("password_change")
        return self.get_response(request)
