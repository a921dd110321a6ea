import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from certificates.actions import CertificateExists, import_certificate
from certificates.inventory import attach_usages, expiring_within
from certificates.models import Certificate
from certificates.pfx import MAX_PFX_BYTES
from certificates.upload_errors import UploadError
from certificates.validators import validate_identifier


class Command(BaseCommand):
    help = "Import and list client certificates, with the same checks as the portal's pages."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("import", help="Import a .pfx file under an Id.")
        add.add_argument("--id", required=True, dest="name")
        add.add_argument("--file", required=True, type=Path)
        add.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the PFX password from the first line of standard input.",
        )
        add.add_argument(
            "--replace", action="store_true", help="Replace the certificate of an existing Id."
        )
        actions.add_parser("list", help="List client certificates.")
        expiring = actions.add_parser(
            "expiring",
            help="List certificates that expire within N days, expired ones included; "
            "exit 1 when there are any, 0 when none (a check for cron and monitoring).",
        )
        expiring.add_argument("--within-days", type=int, default=30, metavar="N")

    def handle(self, *args, action, **options):
        if action == "import":
            self.import_pfx(options)
        elif action == "expiring":
            self.expiring(options["within_days"], options["verbosity"])
        else:
            self.list_certificates()

    def import_pfx(self, options):
        name = options["name"]
        try:
            validate_identifier(name)
        except Exception as exc:
            raise CommandError(f"--id: {' '.join(exc.messages)}") from None
        path = options["file"]
        try:
            if path.stat().st_size > MAX_PFX_BYTES:
                raise CommandError(f"{path} is larger than {MAX_PFX_BYTES // 1024} KiB.")
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}.") from None
        password = sys.stdin.readline().rstrip("\r\n") if options["password_stdin"] else ""
        try:
            result = import_certificate(
                name, data, password, replace=options["replace"], actor_name="manage.py"
            )
        except CertificateExists as exc:
            raise CommandError(f"{exc} Use --replace to rotate it.") from None
        except UploadError as exc:
            raise CommandError(exc.message) from None
        certificate = result.certificate
        verb = "Imported" if result.created else "Replaced"
        self.stdout.write(f"{verb} {certificate.name}: {certificate.thumbprint}")
        if result.validity_problem:
            self.stderr.write(f"Warning: the certificate is {result.validity_problem}.")

    def list_certificates(self):
        rows = Certificate.objects.with_usage_count().only(
            "name", "thumbprint", "not_after", "subject"
        )
        for certificate in rows:
            flag = " EXPIRED" if certificate.is_expired else ""
            self.stdout.write(
                f"{certificate.name}\t{certificate.thumbprint}\t"
                f"{certificate.not_after:%Y-%m-%dT%H:%M:%SZ}{flag}\t"
                f"used by {certificate.usage_count}\t{certificate.subject}"
            )

    def expiring(self, days: int, verbosity: int):
        # Exit code 2 for a bad call, as argparse does: 1 means "certificates need attention".
        if days < 0:
            raise CommandError(f"--within-days must be 0 or more, not {days}.", returncode=2)
        if days > 36500:
            raise CommandError("--within-days must be at most 36500.", returncode=2)
        now = timezone.now()
        found = attach_usages(expiring_within(days, now=now))
        for certificate in found:
            if certificate.not_after > now:
                when = f"{(certificate.not_after - now).days} days left"
            else:
                when = f"EXPIRED {(now - certificate.not_after).days} days ago"
            used_by = ", ".join(str(usage) for usage in certificate.usage_list) or "nothing"
            self.stdout.write(
                f"{certificate.name}\t{certificate.thumbprint}\t"
                f"{certificate.not_after:%Y-%m-%dT%H:%M:%SZ}\t{when}\tused by {used_by}"
            )
        if found:
            self.stdout.flush()
            sys.exit(1)
        if verbosity > 1:
            self.stderr.write(f"No certificate expires within {days} days.")
