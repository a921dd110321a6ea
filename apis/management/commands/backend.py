from argparse import BooleanOptionalAction

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apis import actions, policy
from apis.forms import BackendForm
from apis.models import Backend
from certificates.models import Certificate


class Command(BaseCommand):
    help = (
        "Create, change and list backends, like the gateway's New-/Set-...Backend cmdlets: "
        "backend new --id ID --url URL --protocol http [--skip-certificate-chain-validation] "
        "[--skip-certificate-name-validation] [--certificate-id ID ...]"
    )

    def add_arguments(self, parser):
        actions_ = parser.add_subparsers(dest="action", required=True)
        for verb, text in (("new", "Create a backend."), ("set", "Change a backend.")):
            sub = actions_.add_parser(verb, help=text)
            sub.add_argument("--id", required=True, dest="name")
            sub.add_argument("--url", required=verb == "new")
            sub.add_argument("--protocol", choices=["http"], default="http")
            sub.add_argument("--description")
            # Left out, a setting keeps its value ('set') or its default, validation on ('new').
            sub.add_argument("--skip-certificate-chain-validation", action=BooleanOptionalAction)
            sub.add_argument("--skip-certificate-name-validation", action=BooleanOptionalAction)
            sub.add_argument(
                "--certificate-id",
                action="append",
                dest="certificate_ids",
                help="Client certificate presented to the back end (repeatable).",
            )
        actions_.add_parser("list", help="List backends.")

    def handle(self, *args, action, **options):
        if action == "list":
            for backend in Backend.objects.prefetch_related("client_certificates"):
                certificates = ",".join(c.name for c in backend.client_certificates.all()) or "-"
                self.stdout.write(
                    f"{backend.name}\t{backend.url}\t"
                    f"chain={'on' if backend.validate_certificate_chain else 'off'}\t"
                    f"name={'on' if backend.validate_certificate_name else 'off'}\t"
                    f"certificates={certificates}"
                )
            return
        name = options["name"]
        backend = Backend.objects.filter(name=name).first()
        if action == "new" and backend is not None:
            raise CommandError(f"A backend with the Id {name} already exists; use 'set'.")
        if action == "set" and backend is None:
            raise CommandError(f"No backend with the Id {name}; use 'new'.")
        backend = backend or Backend()
        data = {
            "name": name,
            "url": options["url"] or backend.url,
            "protocol": options["protocol"],
            "description": options["description"]
            if options["description"] is not None
            else backend.description,
            "validate_certificate_chain": self.validate(
                options["skip_certificate_chain_validation"], backend.validate_certificate_chain
            ),
            "validate_certificate_name": self.validate(
                options["skip_certificate_name_validation"], backend.validate_certificate_name
            ),
            "ca_certificates": list(backend.ca_certificates.all()) if backend.pk else [],
        }
        form = BackendForm(data, instance=backend)
        if not form.is_valid():
            problems = "; ".join(
                f"--{field.replace('_', '-')}: {' '.join(errors)}"
                for field, errors in form.errors.items()
            )
            raise CommandError(problems)
        certificates = self.certificates(options["certificate_ids"], backend)
        try:
            backend = actions.save_backend(
                form.save(commit=False),
                ca_certificates=form.cleaned_data["ca_certificates"],
                client_certificates=certificates,
                actor_name="manage.py",
            )
        except (policy.PolicyError, ValidationError) as exc:
            raise CommandError(str(exc)) from None
        verb = "Created" if action == "new" else "Updated"
        self.stdout.write(f"{verb} backend {backend.name}.")

    @staticmethod
    def validate(skip: bool | None, current: bool) -> bool:
        return current if skip is None else not skip

    def certificates(self, names, backend):
        if names is None:
            return list(backend.client_certificates.all()) if backend.pk else []
        found = {c.name: c for c in Certificate.objects.filter(name__in=names)}
        missing = [name for name in names if name not in found]
        if missing:
            raise CommandError(f"No client certificate with the Id {', '.join(missing)}.")
        return [found[name] for name in names]
