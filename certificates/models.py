from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from django.conf import settings
from django.db import models
from django.db.models.functions import Cast, Coalesce, Concat, Left, Lower
from django.urls import reverse
from django.utils import timezone

from certificates import keyring
from certificates.validators import IDENTIFIER_MAX_LENGTH, validate_identifier
from lib.indexes import TrigramIndex

EXPIRING_SOON_DAYS = 30
# Joins the fields of the search column: a search text without it never matches across two.
SEARCH_SEPARATOR = "\x1f"
# The list sorts subjects by their start: a b-tree entry must stay short on PostgreSQL (at most
# 2,704 bytes), and a subject has no length limit.
SUBJECT_SORT = Left("subject", 200)


def search_column(*fields: str, json_fields: tuple[str, ...] = ()) -> models.GeneratedField:
    """What `inventory.search` reads: the fields (JSON ones as their JSON text) in lower case,
    joined by SEARCH_SEPARATOR. The database computes it on every write, bulk ones included
    (QuerySet.update, bulk_create), so it is never stale."""
    parts = [models.F(name) for name in fields]
    parts += [Cast(name, models.TextField()) for name in json_fields]
    joined = []
    for part in parts:
        joined += [part, models.Value(SEARCH_SEPARATOR)]
    return models.GeneratedField(
        expression=Lower(Concat(*joined[:-1], output_field=models.TextField())),
        output_field=models.TextField(),
        db_persist=True,
    )


class SQLiteIndex(models.Index):
    """An index made on SQLite only; other databases get an SQL comment in its place.

    For the search column, which SQLite can then read instead of the wide rows. PostgreSQL
    refuses b-tree entries over 2,704 bytes, which the search text of a certificate with many
    subject alternative names exceeds; it scans the table instead.
    """

    def create_sql(self, model, schema_editor, *args, **kwargs):
        if schema_editor.connection.vendor == "sqlite":
            return super().create_sql(model, schema_editor, *args, **kwargs)
        return f"-- {self.name}: an index on SQLite only"

    def remove_sql(self, model, schema_editor, *args, **kwargs):
        if schema_editor.connection.vendor == "sqlite":
            return super().remove_sql(model, schema_editor, *args, **kwargs)
        return f"-- {self.name}: an index on SQLite only"


def protected_relations(model):
    return [
        relation
        for relation in model._meta.related_objects
        if relation.on_delete is models.PROTECT and not relation.many_to_many
    ]


def named_by_usage(relation) -> list[str]:
    """The other non-null foreign keys of a usage model (a backend credential's backend):
    what its str() and get_absolute_url() name, to be joined when usages are read."""
    return [
        other.name
        for other in relation.related_model._meta.concrete_fields
        if other.many_to_one and not other.null and other is not relation.field
    ]


def referenced_keys(model):
    """The keys of the `model` rows that something references, as one query: the union of the
    non-null foreign keys of every protected relation. It reads the usages (through their
    foreign-key indexes), not the certificates."""
    keys = [
        relation.related_model._default_manager.filter(**{f"{relation.field.name}__isnull": False})
        .order_by()
        .values(relation.field.attname)
        for relation in protected_relations(model)
    ]
    if not keys:
        return model._default_manager.none().values("pk")
    first, *others = keys
    return (first.union(*others) if others else first).order_by()


class CertificateQuerySet(models.QuerySet):
    def used(self):
        """Those that something references: the same as usage_count > 0, without counting
        the usages of every certificate."""
        return self.filter(pk__in=referenced_keys(self.model))

    def unused(self):
        return self.exclude(pk__in=referenced_keys(self.model))

    def with_usage_count(self):
        """Annotate `usage_count`: how many objects reference each certificate (one query)."""
        total = models.Value(0)
        for relation in protected_relations(self.model):
            count = (
                relation.related_model.objects.filter(
                    **{relation.field.name: models.OuterRef("pk")}
                )
                .order_by()
                .values(relation.field.name)
                .annotate(n=models.Count("pk"))
                .values("n")
            )
            total = total + Coalesce(models.Subquery(count), 0)
        return self.annotate(usage_count=total)


class CertificateFactsMixin(models.Model):
    """What can be read off a public certificate; shared by client and CA certificates."""

    name = models.CharField(
        "Id", max_length=IDENTIFIER_MAX_LENGTH, unique=True, validators=[validate_identifier]
    )
    subject = models.TextField()
    issuer = models.TextField()
    sans = models.JSONField("Subject alternative names", default=list, blank=True)
    serial = models.CharField(max_length=130)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField("Expiration date", db_index=True)
    thumbprint = models.CharField(max_length=40, db_index=True)
    sha256_fingerprint = models.CharField("SHA-256 fingerprint", max_length=64)
    self_signed = models.BooleanField(default=False)
    certificate_pem = models.TextField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text too: the user may be deleted later, and commands upload without one.
    uploaded_by_name = models.CharField(max_length=150, blank=True)
    uploaded_at = models.DateTimeField(default=timezone.now)
    search_text = search_column("name", "subject", json_fields=("sans",))

    objects = CertificateQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self):
        return self.name

    def set_facts(self, facts) -> None:
        for field in (
            "subject",
            "issuer",
            "serial",
            "not_before",
            "not_after",
            "thumbprint",
            "sha256_fingerprint",
            "self_signed",
        ):
            setattr(self, field, getattr(facts, field))
        self.sans = list(facts.sans)

    @property
    def is_expired(self) -> bool:
        return self.not_after <= timezone.now()

    @property
    def is_not_yet_valid(self) -> bool:
        return self.not_before > timezone.now()

    @property
    def is_expiring_soon(self) -> bool:
        return not self.is_expired and self.not_after <= timezone.now() + timedelta(
            days=EXPIRING_SOON_DAYS
        )

    @property
    def days_left(self) -> int:
        return (self.not_after - timezone.now()).days

    def x509(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_pem.encode())

    def certificate_der(self) -> bytes:
        return self.x509().public_bytes(Encoding.DER)

    def usages(self) -> list[models.Model]:
        """Every object that references this certificate, found through reverse relations.

        The apps above this one (APIs, backends) point here with protected foreign keys;
        this app does not import them.
        """
        found = []
        for relation in protected_relations(self):
            accessor = relation.get_accessor_name()
            if relation.one_to_one:
                related = getattr(self, accessor, None)
                if related is not None:
                    found.append(related)
            else:
                related = getattr(self, accessor).all()
                if joined := named_by_usage(relation):
                    related = related.select_related(*joined)
                found.extend(related)
        return found


class Certificate(CertificateFactsMixin):
    """A client certificate the gateway presents to back ends, with its encrypted private key."""

    key_type = models.CharField(max_length=8)
    key_size = models.PositiveIntegerField()
    chain_pem = models.TextField(blank=True)
    friendly_name = models.CharField(max_length=255, blank=True)
    # AES-256-GCM token from certificates.keystore, bound to this certificate's id and thumbprint.
    encrypted_private_key = models.TextField()
    # Re-encrypted by rotate_keyring and checked at start, with every other such column.
    encrypted_columns = (
        keyring.EncryptedColumn("encrypted_private_key", "private key", "_associated_data"),
    )
    # Bumped on every replacement, so every gateway worker sees a rotation on its next call.
    version = models.PositiveIntegerField(default=1)
    last_presented_at = models.DateTimeField(null=True, blank=True)
    # Inventory facts kept by administrators for the reviewers; never read by the gateway.
    owner = models.CharField(max_length=200, blank=True)
    contact = models.CharField(max_length=200, blank=True)
    tags = models.JSONField(default=list, blank=True)
    search_text = search_column(
        "name", "subject", "friendly_name", "owner", "contact", json_fields=("sans", "tags")
    )

    class Meta(CertificateFactsMixin.Meta):
        indexes = [
            # Validity filters (valid, not yet valid, expiring) compare both dates: with both in
            # one index they count and filter without reading the certificates' rows.
            models.Index(fields=["not_after", "not_before"], name="certificate_validity"),
            # A search reads its text and the thumbprints here, then only the rows that match
            # (see inventory.search).
            SQLiteIndex(fields=["search_text", "thumbprint"], name="certificate_search"),
            TrigramIndex("search_text", name="certificate_search_trgm"),
            # One per sort column of the list (inventory.SORTS), the Id last: each order and
            # each keyset page ("after this Id") reads its stretch of one index.
            models.Index(fields=["not_after", "name"], name="certificate_sort_expires"),
            models.Index(SUBJECT_SORT, "name", name="certificate_sort_subject"),
            models.Index(fields=["thumbprint", "name"], name="certificate_sort_thumbprint"),
            models.Index(fields=["key_type", "key_size", "name"], name="certificate_sort_key"),
            models.Index(fields=["last_presented_at", "name"], name="certificate_sort_presented"),
            models.Index(fields=["owner", "name"], name="certificate_sort_owner"),
            # Filters that no sort index starts with: the page in Id order and the count.
            models.Index(fields=["self_signed", "name"], name="certificate_self_signed"),
            models.Index(fields=["key_type", "name"], name="certificate_key_type"),
        ]

    def get_absolute_url(self):
        return reverse("certificates:detail", args=[self.name])

    @property
    def key_description(self) -> str:
        return f"{self.key_type} {self.key_size}"

    def _associated_data(self) -> bytes:
        return f"certificate:{self.name}:{self.thumbprint}:private-key".encode()

    def set_private_key(self, private_key_der: bytes) -> None:
        self.encrypted_private_key = keyring.current().encrypt(
            private_key_der, self._associated_data()
        )

    def private_key_der(self) -> bytes:
        return keyring.current().decrypt(self.encrypted_private_key, self._associated_data())

    def chain(self) -> list[x509.Certificate]:
        if not self.chain_pem:
            return []
        return x509.load_pem_x509_certificates(self.chain_pem.encode())


class CACertificate(CertificateFactsMixin):
    """A public certificate trusted when verifying back ends (a private CA)."""

    class Meta(CertificateFactsMixin.Meta):
        verbose_name = "CA certificate"

    def get_absolute_url(self):
        return reverse("ca_certificates:detail", args=[self.name])
