"""What the gateway knows about the APIs it serves, kept in memory per worker.

A Plan holds an API's operations, how its back end is verified and the client certificate it
presents. ConfigurationCache keeps the APIs and their plans under the configuration stamp
(gateway.models), which it checks on every call: a change made anywhere is seen on the next call.
"""

import asyncio
import time
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async

from apis.effective import EffectiveSettings, effective_settings
from apis.models import Api, Operation
from certificates.models import Certificate
from gateway import tls
from gateway.stamps import StampReader


def server_validation(settings: EffectiveSettings) -> tls.ServerValidation:
    return tls.ServerValidation(
        validate_chain=settings.validate_chain,
        validate_name=settings.validate_name,
        ca_certificates_pem=tuple(ca.certificate_pem for ca in settings.ca_certificates),
    )


@dataclass(frozen=True)
class Plan:
    """What forward() reads about an API besides its own row."""

    operations: tuple[Operation, ...]
    validation: tls.ServerValidation
    certificate: Certificate | None
    backend_name: str = ""  # the backend whose settings apply, if any


def load_plan(api: Api) -> Plan:
    """The operations, and what apis.effective says about the back end: the same answer the
    pages show. A few queries, whatever the number of APIs."""
    settings = effective_settings(api)
    return Plan(
        operations=tuple(api.operations.all()),
        validation=server_validation(settings),
        certificate=settings.certificate,
        backend_name=settings.backend.name if settings.backend else "",
    )


def load_apis() -> dict[str, Api]:
    return {api.path: api for api in Api.objects.select_related("client_certificate")}


@dataclass
class Snapshot:
    """What one worker knows under one configuration stamp: every API by its URL suffix, and
    the plans of those it has served."""

    stamp: str | None
    apis: dict[str, Api]
    plans: dict[int, Plan] = field(default_factory=dict)

    def find_api(self, path: str) -> tuple[Api, int] | None:
        """The API whose URL suffix is the longest leading run of segments of `path` (decoded,
        without a leading slash), and how many segments that suffix has."""
        segments = path.split("/")
        for count in range(len(segments), 0, -1):
            api = self.apis.get("/".join(segments[:count]))
            if api is not None:
                return api, count
        return None


class ConfigurationCache:
    """This worker's configuration, read from memory under the configuration stamp.

    Every call first makes sure of the stamp: it waits for a read of the stamp that started
    after the call did (concurrent calls share one), so a change committed before a call starts
    is used by that call, on every instance. A new stamp loads the APIs again (one query) and
    starts the plans afresh; a plan is loaded the first time its API is called. Without a
    stamp row nothing is kept. The stamp is read without a thread (gateway.stamps); APIs and
    plans are read through the ORM in a thread, once per stamp.
    """

    def __init__(self):
        self.snapshot = Snapshot(None, {})
        self.loaded_plans = 0
        self.loaded_apis = 0
        self._reading: tuple[list, asyncio.Future] | None = None
        self._read_stamp = StampReader().read

    async def current(self) -> Snapshot:
        arrived = time.monotonic()
        reading = self._reading
        # A read that has not started yet, or started after this call arrived, will do.
        if reading is None or (reading[0][0] is not None and reading[0][0] < arrived):
            started: list[float | None] = [None]

            async def read():
                started[0] = time.monotonic()
                return await self._read_stamp()

            reading = self._reading = (started, asyncio.ensure_future(read()))
        stamp = await asyncio.shield(reading[1])
        snapshot = self.snapshot
        if stamp is None or stamp != snapshot.stamp:
            apis = await sync_to_async(load_apis)()
            self.loaded_apis += 1
            snapshot = Snapshot(stamp, apis)
            if stamp is not None:
                self.snapshot = snapshot
        return snapshot

    async def find_api(self, snapshot: Snapshot, path: str) -> tuple[Api, int] | None:
        """snapshot.find_api; on a miss, the APIs are read again first: one written without
        signals (bulk_create), which does not renew the stamp, is still found."""
        found = snapshot.find_api(path)
        if found is None and snapshot.stamp is not None:
            snapshot.apis = await sync_to_async(load_apis)()
            self.loaded_apis += 1
            found = snapshot.find_api(path)
        return found

    async def plan(self, snapshot: Snapshot, api: Api) -> Plan:
        plan = snapshot.plans.get(api.pk)
        if plan is None:
            plan = await sync_to_async(load_plan)(api)
            self.loaded_plans += 1
            snapshot.plans[api.pk] = plan
        return plan


class FixedConfiguration:
    """One API's configuration, read beforehand (blocking, where the database may be used):
    what the Test console forwards with, inside a portal worker."""

    def __init__(self, api: Api):
        self.snapshot = Snapshot(None, {api.path: api}, {api.pk: load_plan(api)})

    async def current(self) -> Snapshot:
        return self.snapshot

    async def find_api(self, snapshot: Snapshot, path: str) -> tuple[Api, int] | None:
        return snapshot.find_api(path)

    async def plan(self, snapshot: Snapshot, api: Api) -> Plan:
        return snapshot.plans[api.pk]
