from django.core.management.base import BaseCommand
from django.db import transaction

from audit.models import Action
from audit.trail import record
from certificates import keyring
from certificates.models import Certificate


class Command(BaseCommand):
    help = (
        "Re-encrypt every private key under the newest key of PORTAL_KEYRING. Put a new key "
        "first in the ring, run this, then the older keys can be dropped."
    )

    def handle(self, *args, **options):
        ring = keyring.current()
        changed = 0
        with transaction.atomic():
            for certificate in Certificate.objects.select_for_update().only(
                "pk", "name", "thumbprint", "encrypted_private_key"
            ):
                if certificate.reencrypt_private_key():
                    certificate.save(update_fields=["encrypted_private_key"])
                    changed += 1
            record(
                None,
                Action.KEYRING_ROTATED,
                object_type="keyring",
                object_id=ring.current_key_id,
                message=f"{changed} private key(s) re-encrypted.",
                actor_name="manage.py",
            )
        self.stdout.write(
            f"{changed} private key(s) re-encrypted under key {ring.current_key_id}; "
            "the older keys can now be removed from PORTAL_KEYRING."
        )
