"""The two roles of the portal, kept as groups whose permissions follow the models."""

from django.contrib.auth.models import Group, Permission

ADMINISTRATORS = "Administrators"
REVIEWERS = "Reviewers"
ROLES = {"administrator": ADMINISTRATORS, "reviewer": REVIEWERS}

PORTAL_APPS = ("audit", "accounts", "certificates", "apis", "gateway", "portal")


def sync_role_permissions(**kwargs):
    """Give Administrators every permission of the portal's apps and Reviewers only view ones.

    Runs after every migrate, so a model added later is covered without a new data migration.
    Nobody gets to change or delete audit events: the trail is append-only.
    """
    portal_permissions = Permission.objects.filter(content_type__app_label__in=PORTAL_APPS)
    administrators, _ = Group.objects.get_or_create(name=ADMINISTRATORS)
    reviewers, _ = Group.objects.get_or_create(name=REVIEWERS)
    administrators.permissions.set(
        portal_permissions.exclude(
            content_type__app_label="audit", codename__regex=r"^(add|change|delete)_"
        )
    )
    reviewers.permissions.set(portal_permissions.filter(codename__startswith="view_"))


def role_of(user) -> str | None:
    names = {group.name for group in user.groups.all()}
    if user.is_superuser or ADMINISTRATORS in names:
        return ADMINISTRATORS
    if REVIEWERS in names:
        return REVIEWERS
    return None
