from django.db import models
from django.db.models import Q
from django.urls import reverse

from apis import policy
from certificates import keyring
from certificates.models import CACertificate, Certificate
from certificates.validators import IDENTIFIER_MAX_LENGTH, validate_identifier

# The Basic password never sits in the policy text: the stored document carries this
# placeholder and the password itself is kept encrypted beside it.
BASIC_PASSWORD_PLACEHOLDER = "{{gateway-credentials-password}}"


class CredentialsKind(models.TextChoices):
    """What the gateway presents to an API's back end ("Gateway credentials")."""

    NONE = "none", "None"
    BASIC = "basic", "Basic"
    CERTIFICATE = "certificate", "Client cert"


class Api(models.Model):
    name = models.CharField(
        "Id", max_length=IDENTIFIER_MAX_LENGTH, unique=True, validators=[validate_identifier]
    )
    display_name = models.CharField(max_length=200)
    path = models.CharField("API URL suffix", max_length=200, unique=True)
    service_url = models.URLField("Web service URL", max_length=2000)
    protocols = models.JSONField(default=list)
    description = models.TextField(blank=True)
    policy_xml = models.TextField("Policy", default=policy.DEFAULT_POLICY)
    # Derived from the policy on every save of it, in the same transaction: the database
    # enforces the usage (no certificate deleted while an API presents it).
    client_certificate = models.ForeignKey(
        Certificate,
        verbose_name="Client certificate",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="apis",
    )
    # From <set-backend-service backend-id="..." /> in the policy, kept beside it on every save.
    backend_name = models.CharField(max_length=IDENTIFIER_MAX_LENGTH, blank=True)
    basic_username = models.CharField(max_length=200, blank=True)
    basic_password_encrypted = models.TextField(blank=True)
    # Re-encrypted by rotate_keyring and checked at start (see certificates.keyring).
    encrypted_columns = (
        keyring.EncryptedColumn(
            "basic_password_encrypted", "Basic password", "_password_associated_data"
        ),
    )
    # Optimistic concurrency: a form carries the version it was drawn from, and a save from a
    # stale form is refused instead of overwriting somebody else's change.
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name", "name"]
        verbose_name = "API"
        permissions = [("call_api", "Can call APIs through the gateway")]

    def __str__(self):
        return f"API {self.display_name}"

    def get_absolute_url(self):
        return reverse("apis:design", args=[self.name])

    @property
    def gateway_credentials(self) -> CredentialsKind:
        if self.client_certificate_id:
            return CredentialsKind.CERTIFICATE
        if self.basic_username:
            return CredentialsKind.BASIC
        return CredentialsKind.NONE

    def backend(self):
        """The backend this API calls (see backend_of)."""
        return backend_of(self, Backend.objects.all())

    def parsed_policy(self) -> policy.Policy:
        return policy.parse(self.policy_xml)

    def _password_associated_data(self) -> bytes:
        return f"api:{self.pk}:basic-password".encode()

    def set_basic_password(self, password: str) -> None:
        self.basic_password_encrypted = (
            keyring.current().encrypt(password.encode(), self._password_associated_data())
            if password
            else ""
        )

    def basic_password(self) -> str:
        if not self.basic_password_encrypted:
            return ""
        return (
            keyring.current()
            .decrypt(self.basic_password_encrypted, self._password_associated_data())
            .decode()
        )


class Operation(models.Model):
    METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

    api = models.ForeignKey(Api, on_delete=models.CASCADE, related_name="operations")
    name = models.CharField(
        "Id", max_length=IDENTIFIER_MAX_LENGTH, validators=[validate_identifier]
    )
    display_name = models.CharField(max_length=200)
    method = models.CharField(max_length=10, choices=[(m, m) for m in METHODS])
    url_template = models.CharField("URL template", max_length=500)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["url_template", "method"]
        constraints = [
            models.UniqueConstraint(fields=["api", "name"], name="operation_unique_id"),
            models.UniqueConstraint(
                fields=["api", "method", "url_template"], name="operation_unique_route"
            ),
        ]

    def __str__(self):
        return f"{self.method} {self.url_template}"


class Backend(models.Model):
    """A back end service, with how the gateway verifies it and which certificate it presents."""

    name = models.CharField(
        "Id", max_length=IDENTIFIER_MAX_LENGTH, unique=True, validators=[validate_identifier]
    )
    url = models.URLField("URL", max_length=2000)
    protocol = models.CharField(max_length=10, default="http", choices=[("http", "http")])
    description = models.TextField(blank=True)
    validate_certificate_chain = models.BooleanField("Validate certificate chain", default=True)
    validate_certificate_name = models.BooleanField("Validate certificate name", default=True)
    ca_certificates = models.ManyToManyField(
        CACertificate,
        through="BackendCACertificate",
        blank=True,
        verbose_name="Trusted CA certificates",
        related_name="backends",
    )
    client_certificates = models.ManyToManyField(
        Certificate,
        through="BackendCertificate",
        blank=True,
        verbose_name="Client certificates",
        related_name="backends",
    )
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"Backend {self.name}"

    def get_absolute_url(self):
        return reverse("backends:detail", args=[self.name])

    def apis(self):
        """The APIs that call this backend (see Api.backend), in two queries at most."""
        by_url = Q(backend_name="") & (
            Q(service_url=self.url) | Q(service_url__startswith=self.url + "/")
        )
        candidates = list(Api.objects.filter(Q(backend_name=self.name) | by_url))
        # By URL, a longer backend URL wins (and LIKE may ignore case): settle it as
        # Api.backend does.
        by_url_too = any(not api.backend_name for api in candidates)
        backends = list(Backend.objects.all()) if by_url_too else []
        return [
            api
            for api in candidates
            if api.backend_name == self.name
            or (not api.backend_name and longest_prefix(api.service_url, backends) == self)
        ]


def backend_of(api: Api, backends) -> "Backend | None":
    """Among `backends`, the one an API calls: named in its policy, else the longest URL
    prefix of its web service URL."""
    if api.backend_name:
        return next((backend for backend in backends if backend.name == api.backend_name), None)
    return longest_prefix(api.service_url, backends)


def longest_prefix(service_url: str, backends) -> "Backend | None":
    """The backend whose URL is the longest leading part of `service_url` (whole segments)."""
    matches = [
        backend
        for backend in backends
        if service_url == backend.url or service_url.startswith(backend.url + "/")
    ]
    return max(matches, key=lambda backend: len(backend.url), default=None)


class BackendLink(models.Model):
    """Something a backend holds on to; shown and linked as that backend."""

    backend = models.ForeignKey(Backend, on_delete=models.CASCADE)

    class Meta:
        abstract = True

    def __str__(self):
        return str(self.backend)

    def get_absolute_url(self):
        return self.backend.get_absolute_url()


class BackendCACertificate(BackendLink):
    """A backend trusts a CA certificate; the CA cannot be deleted while trusted."""

    ca_certificate = models.ForeignKey(
        CACertificate, on_delete=models.PROTECT, related_name="trusting_backends"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["backend", "ca_certificate"], name="backend_ca_certificate_unique"
            )
        ]


class BackendCertificate(BackendLink):
    """A backend's gateway credentials: the client certificate presented to it."""

    certificate = models.ForeignKey(
        Certificate, on_delete=models.PROTECT, related_name="backend_credentials"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["backend", "certificate"], name="backend_certificate_unique"
            )
        ]
