from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from audit.models import Action
from audit.trail import record
from certificates import keyring


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret (private keys, Basic passwords) under the newest key of "
        "PORTAL_KEYRING. Put a new key first in the ring, run this, then the older keys can be "
        "dropped."
    )

    def handle(self, *args, **options):
        ring = keyring.current()
        try:
            with transaction.atomic():
                counts = keyring.reencrypt_stored_data()
                summary = "; ".join(f"{count} {what}(s) re-encrypted" for what, count in counts)
                record(
                    None,
                    Action.KEYRING_ROTATED,
                    object_type="keyring",
                    object_id=ring.current_key_id,
                    message=f"{summary}.",
                    actor_name="manage.py",
                )
        except keyring.RotationError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{summary} under key {ring.current_key_id}; "
            "the older keys can now be removed from PORTAL_KEYRING."
        )
