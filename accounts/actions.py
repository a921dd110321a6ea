"""Changes to users and roles, shared by the Users page and the commands.

Each change runs in one transaction and writes one audit record. A change that would leave the
portal without an active administrator is refused, so nobody can lock everybody out.
"""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Q

from accounts import lockouts
from accounts.models import Profile
from accounts.roles import ADMINISTRATORS, ROLES, role_of
from audit.models import Action
from audit.trail import record

NO_ROLE = "none"
ROLE_LABELS = {"administrator": "Administrator", "reviewer": "Reviewer", NO_ROLE: "No role"}


class Refused(Exception):
    """A change the rules do not allow; the message says why, for the person who asked."""


def role_key(user) -> str:
    """'administrator', 'reviewer' or 'none': the role as the forms and commands name it."""
    group = role_of(user)
    return next((key for key, name in ROLES.items() if name == group), NO_ROLE)


def one_time_password() -> str:
    return secrets.token_urlsafe(12)


def _active_administrators():
    User = get_user_model()
    return (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=ADMINISTRATORS))
        .distinct()
    )


def _refuse_if_last_administrator(user, doing: str) -> None:
    # Lock the administrators' rows, so that two administrators demoting each other at the same
    # moment cannot both pass the check (PostgreSQL; SQLite runs one writer at a time anyway).
    User = get_user_model()
    administrators = User.objects.select_for_update().filter(
        pk__in=_active_administrators().values("pk")
    )
    others = [pk for pk in administrators.values_list("pk", flat=True) if pk != user.pk]
    if role_key(user) == "administrator" and user.is_active and not others:
        raise Refused(
            f"{user.get_username()} is the only active administrator: {doing} would leave "
            "nobody able to manage the portal. Make another user an administrator first."
        )


def _set_role(user, role: str) -> None:
    user.groups.remove(*Group.objects.filter(name__in=ROLES.values()))
    if role != NO_ROLE:
        user.groups.add(Group.objects.get(name=ROLES[role]))
    if user.is_superuser and role != "administrator":
        # A superuser is an administrator whatever the groups say; the new role must hold.
        user.is_superuser = False
        user.is_staff = False
        user.save(update_fields=["is_superuser", "is_staff"])


def _require_password_change(user, required: bool) -> None:
    Profile.objects.update_or_create(user=user, defaults={"must_change_password": required})


def create_user(username: str, role: str, *, email: str = "", request=None) -> tuple:
    """A new user with `role` and a one-time password, returned once and never stored in clear."""
    password = one_time_password()
    with transaction.atomic():
        user = get_user_model().objects.create_user(
            username=username, email=email, password=password
        )
        _set_role(user, role)
        _require_password_change(user, True)
        record(
            request,
            Action.USER_CREATED,
            object_type="user",
            object_id=username,
            after={"role": ROLE_LABELS[role], "email": email or None, "password": "one-time"},
            message="Created with a one-time password to change at the first sign-in.",
        )
    return user, password


def change_role(
    user, role: str, *, request=None, actor_name: str = "", from_shell: bool = False
) -> bool:
    """Give `user` the role; False (and no audit record) when it already had it.

    `from_shell`: `manage.py role`, run by whoever runs the server, may take the last
    administrator's role away (and give it back); the pages may not.
    """
    with transaction.atomic():
        before = role_key(user)
        if before == role:
            return False
        if role != "administrator" and not from_shell:
            _refuse_if_last_administrator(user, f"making it {ROLE_LABELS[role].lower()}")
        _set_role(user, role)
        record(
            request,
            Action.ROLE_GRANTED,
            object_type="user",
            object_id=user.get_username(),
            before={"role": ROLE_LABELS[before]},
            after={"role": ROLE_LABELS[role]},
            actor_name=actor_name,
        )
    return True


def set_active(user, active: bool, *, request=None) -> None:
    """Deactivated, the user can no longer sign in and their API tokens stop working; nothing
    is deleted. Reactivated, both work again."""
    with transaction.atomic():
        if not active:
            _refuse_if_last_administrator(user, "deactivating it")
        user.is_active = active
        user.save(update_fields=["is_active"])
        record(
            request,
            Action.USER_REACTIVATED if active else Action.USER_DEACTIVATED,
            object_type="user",
            object_id=user.get_username(),
            before={"active": not active},
            after={"active": active},
        )


def unlock(user, *, request=None) -> int:
    """Lift a sign-in lockout of the user, from every address; how many records went.

    Nothing to lift (no failed sign-in on record) changes nothing and records nothing.
    """
    with transaction.atomic():
        count = lockouts.unlock(user.get_username())
        if count:
            record(
                request,
                Action.USER_UNLOCKED,
                object_type="user",
                object_id=user.get_username(),
                message="Failed sign-ins forgotten: the user can try again now.",
            )
    return count


def set_one_time_password(user, *, request=None) -> str:
    """A new one-time password for a user who forgot theirs; their sessions end with it."""
    password = one_time_password()
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        _require_password_change(user, True)
        record(
            request,
            Action.PASSWORD_SET,
            object_type="user",
            object_id=user.get_username(),
            message="One-time password set by an administrator; to change at the next sign-in.",
        )
    return password


def password_changed(user, *, request=None) -> None:
    """The user chose their own password (Django's form has saved it)."""
    with transaction.atomic():
        _require_password_change(user, False)
        record(
            request,
            Action.PASSWORD_SET,
            object_type="user",
            object_id=user.get_username(),
            message="Password changed by the user.",
        )


def must_change_password(user) -> bool:
    return Profile.objects.filter(user=user, must_change_password=True).exists()
