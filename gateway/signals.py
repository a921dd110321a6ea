"""Renew the gateway's configuration stamp on every change to what forward() reads.

Saves and deletions of model instances, and changes to the backends' many-to-many relations,
renew it in the same transaction. Bulk writes (QuerySet.update, bulk_create) send no signal: a
new API or operation made that way is still found, since forward() reads the API row itself on
every call and keys what it keeps by the row's version and update time.
"""

from django.db.models.signals import m2m_changed, post_delete, post_save

from apis.models import Api, Backend, BackendCACertificate, BackendCertificate, Operation
from certificates.models import CACertificate, Certificate
from gateway.models import ConfigurationStamp

WATCHED = (
    Api,
    Operation,
    Backend,
    BackendCACertificate,
    BackendCertificate,
    Certificate,
    CACertificate,
)
# Inventory facts the gateway never reads (see Certificate): saving only these changes nothing.
IGNORED_CERTIFICATE_FIELDS = {"owner", "contact", "tags", "last_presented_at"}


def _saved(sender, update_fields=None, using=None, **kwargs):
    if sender is Certificate and update_fields and set(update_fields) <= IGNORED_CERTIFICATE_FIELDS:
        return
    ConfigurationStamp.renew(using=using)


def _deleted(sender, using=None, **kwargs):
    ConfigurationStamp.renew(using=using)


def _relation_changed(sender, action, using=None, **kwargs):
    if action.startswith("post_"):
        ConfigurationStamp.renew(using=using)


def connect() -> None:
    for model in WATCHED:
        uid = f"gateway-stamp-{model._meta.label_lower}"
        post_save.connect(_saved, sender=model, dispatch_uid=f"{uid}-saved")
        post_delete.connect(_deleted, sender=model, dispatch_uid=f"{uid}-deleted")
    for through in (Backend.ca_certificates.through, Backend.client_certificates.through):
        m2m_changed.connect(
            _relation_changed,
            sender=through,
            dispatch_uid=f"gateway-stamp-{through._meta.label_lower}-m2m",
        )
