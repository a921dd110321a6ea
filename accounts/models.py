from django.conf import settings
from django.db import models
from django.utils import timezone


class Scope(models.TextChoices):
    """What a token may be used for: calling APIs through the gateway, the management REST API
    (with its user's role), or both."""

    GATEWAY = "gateway", "Gateway: call APIs"
    MANAGEMENT = "management", "Management: REST API, with the user's role"
    BOTH = "both", "Gateway and management"


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A bearer token for the gateway and the REST API; it acts with its user's role.

    Only the SHA-256 of the token is stored: the token itself is shown once, when created.
    The prefix (its first characters) is kept in clear so that people can tell tokens apart.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.BOTH)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    def allows(self, scope: Scope) -> bool:
        return self.scope in (scope, Scope.BOTH)


class Profile(models.Model):
    """What the portal keeps about a user beyond Django's own fields."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="profile"
    )
    # Set with a one-time password: the user must choose their own at the next sign-in.
    must_change_password = models.BooleanField(default=False)

    class Meta:
        permissions = [("manage_users", "Can add users, change their roles and unlock them")]

    def __str__(self):
        return f"Profile of {self.user}"
