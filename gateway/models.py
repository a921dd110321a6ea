import secrets

from django.db import models

# The one row of ConfigurationStamp.
STAMP_ROW = 1


def _new_value() -> str:
    return secrets.token_hex(16)


class ConfigurationStamp(models.Model):
    """A value that changes with every change to what the gateway reads to forward a call
    (APIs, operations, backends, their TLS settings and credentials, certificates).

    Each worker keeps what it read per API under the stamp it read it with, and reads the stamp
    again with every call: a change is seen on the very next call, in every worker, for the
    cost of a subquery. The value is random, not a counter, so that a database restored from a
    backup (or a test transaction rolled back) can never bring back a value a worker has seen
    with other contents.
    """

    value = models.CharField(max_length=32, default=_new_value)

    def __str__(self):
        return self.value

    @classmethod
    def renew(cls, *, using=None) -> None:
        """A new value, written in the caller's transaction (so seen when it commits)."""
        manager = cls.objects.db_manager(using)
        value = _new_value()
        if not manager.filter(pk=STAMP_ROW).update(value=value):
            manager.bulk_create([cls(pk=STAMP_ROW, value=value)], ignore_conflicts=True)
