from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from audit.models import Action
from audit.trail import record


@receiver(user_logged_in)
def record_sign_in(sender, request, user, **kwargs):
    record(request, Action.SIGN_IN, object_type="user", object_id=user.get_username())


@receiver(user_login_failed)
def record_failed_sign_in(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    record(
        request,
        Action.SIGN_IN_FAILED,
        object_type="user",
        object_id=username,
        actor_name=username,
        message="Wrong username or password.",
    )


@receiver(user_locked_out)
def record_lockout(sender, request, username=None, ip_address=None, **kwargs):
    record(
        request,
        Action.SIGN_IN_LOCKED_OUT,
        object_type="user",
        object_id=str(username or "")[:150],
        actor_name=str(username or "")[:150],
        message="Too many failed sign-ins: this username is locked out from this address.",
    )
