"""What the gateway reads about an API besides its own row, kept per worker.

A Plan holds an API's operations, how its back end is verified and the client certificate it
presents. PlanCache keeps them under the configuration stamp (gateway.models) that forward()
reads on every call, in the same statement as the API's row: a change made anywhere is seen on
the next call.
"""

from dataclasses import dataclass

from apis.models import Api, BackendCertificate, Operation
from certificates.models import Certificate
from gateway import tls


def server_validation(backend) -> tls.ServerValidation:
    if backend is None:
        return tls.ServerValidation()
    return tls.ServerValidation(
        validate_chain=backend.validate_certificate_chain,
        validate_name=backend.validate_certificate_name,
        ca_certificates_pem=tuple(
            backend.ca_certificates.order_by("pk").values_list("certificate_pem", flat=True)
        ),
    )


def backend_certificate(backend) -> Certificate | None:
    """The backend's gateway credentials: presented for the APIs that name no certificate."""
    if backend is None:
        return None
    credential = (
        BackendCertificate.objects.filter(backend=backend)
        .select_related("certificate")
        .order_by("pk")
        .first()
    )
    return credential.certificate if credential else None


def presented_certificate(api: Api, backend) -> Certificate | None:
    """The API's own gateway credentials first, else the backend's."""
    if api.client_certificate_id:
        return Certificate.objects.filter(pk=api.client_certificate_id).first()
    return backend_certificate(backend)


@dataclass(frozen=True)
class Plan:
    """What forward() reads about an API besides its own row."""

    operations: tuple[Operation, ...]
    validation: tls.ServerValidation
    certificate: Certificate | None


def load_plan(api: Api) -> Plan:
    """Three to five queries: the operations, the backend, its CA certificates, and the API's
    certificate or the backend's credential."""
    backend = api.backend()
    return Plan(
        operations=tuple(api.operations.all()),
        validation=server_validation(backend),
        certificate=presented_certificate(api, backend),
    )


class PlanCache:
    """This worker's plans, valid for one configuration stamp; a new stamp starts afresh.

    Keyed by the API's id, version and update time too, so that an API row written without a
    signal (bulk_create) is not served another row's plan. Without a stamp (a database whose
    stamp row is missing) nothing is kept. Thread-safe: the current (stamp, plans) pair is
    replaced in one assignment; two threads may load the same plan, which costs only time.
    """

    def __init__(self, max_size: int = 4096):
        self.max_size = max_size
        self._current: tuple[str | None, dict] = (None, {})
        self.loaded = 0

    def get(self, api: Api, stamp: str | None) -> Plan:
        """The plan of `api`; `stamp` must have been read no later than `api` was."""
        if stamp is None:
            self.loaded += 1
            return load_plan(api)
        current, plans = self._current
        if current != stamp:
            plans = {}
            self._current = (stamp, plans)
        key = (api.pk, api.version, api.updated_at)
        plan = plans.get(key)
        if plan is None:
            plan = load_plan(api)
            self.loaded += 1
            if len(plans) >= self.max_size:
                plans.clear()
            plans[key] = plan
        return plan

    def clear(self) -> None:
        self._current = (None, {})
