"""Fill a database with a large, realistic inventory, for benchmarks and demos."""

import datetime as dt
import random
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from apis import policy, policy_editing
from apis.models import Api, Operation
from certificates.facts import describe_certificate
from certificates.models import Certificate

BATCH = 500
METHODS = ["GET", "POST", "PUT", "DELETE"]


class Command(BaseCommand):
    help = (
        "Add N distinct, valid client certificates (EC P-256, private keys encrypted as usual), "
        "M APIs with K operations each, and usages: about half of the APIs present a "
        "certificate. Ids start with a prefix so seeding twice with another prefix adds more."
    )

    def add_arguments(self, parser):
        parser.add_argument("--certificates", type=int, default=1000)
        parser.add_argument("--apis", type=int, default=200)
        parser.add_argument("--operations-per-api", type=int, default=3)
        parser.add_argument("--prefix", default="seed")
        parser.add_argument("--seed", type=int, default=1, help="random seed, for repeatable data")

    def handle(self, *args, certificates, apis, operations_per_api, prefix, seed, **options):
        if min(certificates, apis, operations_per_api) < 0:
            raise CommandError("Counts must be zero or more.")
        if Certificate.objects.filter(name__startswith=f"{prefix}-").exists():
            raise CommandError(f"Ids starting with {prefix}- exist already; pass another --prefix.")
        rng = random.Random(seed)
        started = time.monotonic()
        issuer_key = ec.generate_private_key(ec.SECP256R1())
        issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{prefix} Seed CA")])
        made = []
        for start in range(0, certificates, BATCH):
            batch = [
                self.certificate(f"{prefix}-{n:06d}", issuer, issuer_key, rng)
                for n in range(start, min(start + BATCH, certificates))
            ]
            with transaction.atomic():
                made.extend(Certificate.objects.bulk_create(batch))
            self.stdout.write(f"{len(made)} certificates", ending="\r")
        self.stdout.write(f"{len(made)} certificates in {time.monotonic() - started:.1f} s")
        self.apis(apis, operations_per_api, prefix, made, rng)
        self.stdout.write(f"Done in {time.monotonic() - started:.1f} s.")

    def certificate(self, name, issuer, issuer_key, rng) -> Certificate:
        key = ec.generate_private_key(ec.SECP256R1())
        now = timezone.now()
        # Spread expirations: a few expired, many within the year, the rest later.
        not_after = now + dt.timedelta(days=rng.randint(-60, 730), hours=rng.randint(0, 23))
        not_before = min(now, not_after) - dt.timedelta(days=365)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Seeded Inventory"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"{name}.clients.example.test"),
            ]
        )
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(f"{name}.clients.example.test")]),
                critical=False,
            )
            .sign(issuer_key, hashes.SHA256())
        )
        certificate = Certificate(
            name=name,
            key_type="EC",
            key_size=256,
            certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
            uploaded_by_name="seed_inventory",
        )
        certificate.set_facts(describe_certificate(cert))
        certificate.set_private_key(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return certificate

    def apis(self, count, operations_per_api, prefix, certificates, rng):
        made = []
        for start in range(0, count, BATCH):
            batch = []
            for n in range(start, min(start + BATCH, count)):
                chosen = rng.choice(certificates) if certificates and rng.random() < 0.5 else None
                xml = policy.DEFAULT_POLICY
                if chosen is not None:
                    xml = policy_editing.set_gateway_credentials(xml, certificate_id=chosen.name)
                batch.append(
                    Api(
                        name=f"{prefix}-api-{n:05d}",
                        display_name=f"Seeded API {n}",
                        path=f"{prefix}/api-{n:05d}",
                        service_url=f"https://backend-{n % 50}.internal.example.test/v1",
                        protocols=["https"],
                        policy_xml=xml,
                        client_certificate=chosen,
                    )
                )
            with transaction.atomic():
                apis = Api.objects.bulk_create(batch)
                Operation.objects.bulk_create(
                    Operation(
                        api=api,
                        name=f"operation-{k}",
                        display_name=f"Operation {k}",
                        method=METHODS[k % len(METHODS)],
                        url_template=f"/items-{k}/{{itemId}}",
                    )
                    for api in apis
                    for k in range(operations_per_api)
                )
            made.extend(apis)
        self.stdout.write(f"{len(made)} APIs with {operations_per_api} operations each")
