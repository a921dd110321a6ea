"""Fill a database with a large, realistic inventory, for benchmarks and demos."""

import datetime as dt
import json
import random
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from apis import policy, policy_editing
from apis.models import Api, Backend, BackendCertificate, Operation
from audit.models import Action, AuditEvent
from certificates.facts import describe_certificate
from certificates.models import Certificate
from lib import sql

BATCH = 1000
METHODS = ["GET", "POST", "PUT", "DELETE"]
ISSUERS = ["Payments Issuing CA", "Partner Issuing CA G2", "Internal Services CA", "Legacy CA 2019"]
TEAMS = ["Payments", "Identity", "Partner integrations", "Data platform", "Mobile", "Billing"]
TAGS = ["production", "staging", "pci", "partner", "internal", "legacy", "rotate-q1", "eu"]
KEY_POOL = 32  # key pairs shared by the seeded certificates: generating one each is the slow part
RSA_POOL = 4
ACTORS = ["alice", "bob", "carol", "dave", "ops-bot", ""]


class Command(BaseCommand):
    help = (
        "Add N distinct client certificates (from a few shared issuers, some self-signed, a few "
        "with long SAN lists, varied expiry, owners and tags; private keys encrypted as usual), "
        "M APIs with K operations each, backends, usages of both kinds, and audit events. "
        "Ids start with a prefix so seeding twice with another prefix adds more."
    )

    def add_arguments(self, parser):
        parser.add_argument("--certificates", type=int, default=1000)
        parser.add_argument("--apis", type=int, default=200)
        parser.add_argument("--operations-per-api", type=int, default=3)
        parser.add_argument(
            "--backends", type=int, default=0, help="every other one presents a certificate"
        )
        parser.add_argument("--audit-events", type=int, default=0)
        parser.add_argument("--prefix", default="seed")
        parser.add_argument("--seed", type=int, default=1, help="random seed, for repeatable data")

    def handle(self, *args, **options):
        counts = [options[name] for name in ("certificates", "apis", "operations_per_api")]
        counts += [options["backends"], options["audit_events"]]
        if min(counts) < 0:
            raise CommandError("Counts must be zero or more.")
        prefix = options["prefix"]
        if Certificate.objects.filter(name__startswith=f"{prefix}-").exists():
            raise CommandError(f"Ids starting with {prefix}- exist already; pass another --prefix.")
        rng = random.Random(options["seed"])
        started = time.monotonic()
        made = self.certificates(options["certificates"], prefix, rng)
        self.stdout.write(f"{len(made)} certificates in {time.monotonic() - started:.1f} s")
        self.apis(options["apis"], options["operations_per_api"], prefix, made, rng)
        self.backends(options["backends"], prefix, made)
        self.audit_events(options["audit_events"], prefix, made, rng)
        self.stdout.write(f"Done in {time.monotonic() - started:.1f} s.")

    def certificates(self, count, prefix, rng) -> list[Certificate]:
        issuers = []
        for name in ISSUERS:
            key = ec.generate_private_key(ec.SECP256R1())
            issuers.append((x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]), key))
        keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(KEY_POOL)]
        keys += [rsa.generate_private_key(65537, 2048) for _ in range(RSA_POOL)]
        pool = [(key, _der(key)) for key in keys]
        made = []
        for start in range(0, count, BATCH):
            batch = [
                self.certificate(f"{prefix}-{n:06d}", issuers, pool, rng)
                for n in range(start, min(start + BATCH, count))
            ]
            with transaction.atomic():
                made.extend(Certificate.objects.bulk_create(batch))
            self.stdout.write(f"{len(made)} certificates", ending="\r")
        return made

    def certificate(self, name, issuers, pool, rng) -> Certificate:
        # Mostly EC keys, one in ten RSA.
        key, key_der = pool[rng.randrange(KEY_POOL)] if rng.random() < 0.9 else pool[-1]
        now = timezone.now()
        # Spread expirations: a few expired, many within the year, the rest later.
        not_after = now + dt.timedelta(days=rng.randint(-60, 730), hours=rng.randint(0, 23))
        not_before = min(now, not_after) - dt.timedelta(days=rng.choice([90, 365, 730]))
        host = f"{name}.clients.example.test"
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, rng.choice(TEAMS) + " Ltd"),
                x509.NameAttribute(NameOID.COMMON_NAME, host),
            ]
        )
        issuer, issuer_key = rng.choice(issuers)
        if rng.random() < 0.08:
            issuer, issuer_key = subject, key  # self-signed
        # Most carry their own name; a few carry long lists (a shared front door's hosts).
        sans = [host]
        if rng.random() < 0.03:
            sans += [f"svc-{k:03d}.{name}.example.test" for k in range(rng.randint(40, 120))]
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(san) for san in sans]), critical=False
            )
            .sign(issuer_key, hashes.SHA256())
        )
        owned = rng.random() < 0.7
        certificate = Certificate(
            name=name,
            key_type="RSA" if isinstance(key, rsa.RSAPrivateKey) else "EC",
            key_size=key.key_size,
            certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
            uploaded_by_name="seed_inventory",
            owner=rng.choice(TEAMS) if owned else "",
            contact=f"team-{rng.randrange(40)}@example.test" if owned else "",
            tags=sorted(rng.sample(TAGS, rng.choice([0, 0, 1, 1, 2, 3]))),
            last_presented_at=(
                now - dt.timedelta(minutes=rng.randrange(90 * 24 * 60))
                if rng.random() < 0.4
                else None
            ),
        )
        certificate.set_facts(describe_certificate(cert))
        certificate.set_private_key(key_der)
        return certificate

    def apis(self, count, operations_per_api, prefix, certificates, rng):
        made = []
        # A few certificates are shared by many APIs (one partner certificate everywhere).
        popular = certificates[:3]
        for start in range(0, count, BATCH):
            batch = []
            for n in range(start, min(start + BATCH, count)):
                chosen = None
                if certificates and rng.random() < 0.5:
                    chosen = rng.choice(popular if rng.random() < 0.2 else certificates)
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

    def backends(self, count, prefix, certificates):
        with transaction.atomic():
            backends = Backend.objects.bulk_create(
                Backend(
                    name=f"{prefix}-backend-{n:03d}",
                    url=f"https://backend-{n}.internal.example.test",
                )
                for n in range(count)
            )
            # Every other backend presents a certificate; the most used ones are among them.
            BackendCertificate.objects.bulk_create(
                BackendCertificate(backend=backend, certificate=certificates[n // 2])
                for n, backend in enumerate(backends)
                if n % 2 == 0 and n // 2 < len(certificates)
            )
        if count:
            self.stdout.write(f"{count} backends")

    def audit_events(self, count, prefix, certificates, rng):
        """Events over the past year, oldest first. Written with plain INSERTs: the model sets
        `at` to now on every save, and a trail that all happened now is no test of anything."""
        if not count:
            return
        actions = [Action.CERTIFICATE_UPLOADED, Action.CERTIFICATE_OWNERSHIP_CHANGED]
        actions += [Action.SIGN_IN, Action.API_CHANGED, Action.POLICY_CHANGED]
        actions += [Action.CERTIFICATE_REPLACED, Action.SIGN_IN_FAILED, Action.BACKEND_CHANGED]
        kinds = {Action.SIGN_IN: "user", Action.SIGN_IN_FAILED: "user"}
        kinds |= {Action.API_CHANGED: "api", Action.POLICY_CHANGED: "api"}
        kinds[Action.BACKEND_CHANGED] = "backend"
        names = [certificate.name for certificate in certificates] or [f"{prefix}-none"]
        columns = ["at", "actor_name", "action", "object_type", "object_id", "source_address"]
        columns += ["before", "after", "message"]
        quote = connection.ops.quote_name
        statement = (
            f"INSERT INTO {quote(AuditEvent._meta.db_table)} "  # noqa: S608 (the model's names)
            f"({', '.join(quote(AuditEvent._meta.get_field(c).column) for c in columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})"
        )
        now = timezone.now()
        step = dt.timedelta(days=365) / count
        for start in range(0, count, BATCH * 10):
            rows = []
            for n in range(start, min(start + BATCH * 10, count)):
                action = rng.choice(actions)
                kind = kinds.get(action, "certificate")
                actor = rng.choice(ACTORS)
                target = (actor or "unknown") if kind == "user" else rng.choice(names)
                if kind in ("api", "backend"):
                    target = f"{prefix}-{kind}-{rng.randrange(500):05d}"
                before = after = None
                if action == Action.CERTIFICATE_OWNERSHIP_CHANGED:
                    before = json.dumps({"owner": rng.choice(TEAMS)})
                    after = json.dumps({"owner": rng.choice(TEAMS)})
                at = now - dt.timedelta(days=365) + step * n
                rows.append(
                    [
                        sql.datetime_parameter(at),
                        actor,
                        action.value,
                        kind,
                        target,
                        f"10.0.{rng.randrange(256)}.{rng.randrange(1, 255)}",
                        before,
                        after,
                        "",
                    ]
                )
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(statement, rows)
            self.stdout.write(f"{start + len(rows)} audit events", ending="\r")
        self.stdout.write(f"{count} audit events")


def _der(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
