"""A property-based run of every operation in /api/openapi.json (schemathesis on Hypothesis).

Bounded: a few examples per operation and a deadline per example. Each answer must not be a
5xx, and its status, media type, headers and body must be what the schema documents.
"""

from datetime import timedelta

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.tokens import issue_token
from apis.actions import create_api, save_backend, save_operation
from apis.models import Backend, Operation
from portal import openapi

schema = schemathesis.openapi.from_dict(openapi.schema())
schema.app = WSGIHandler()

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def in_test_transaction():
    """Let WSGI calls share the test's transaction, as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(administrator, certificate, ca_certificate, in_test_transaction):
    """The entities the schema's examples name, and an administrator's token."""
    backend = save_backend(
        Backend(name="orders-backend", url="https://orders.internal:8443"),
        ca_certificates=[ca_certificate],
        client_certificates=[certificate],
    )
    orders = create_api(
        display_name="Orders API",
        service_url="https://orders.internal:8443/v1",
        path="orders",
        name="orders",
    )
    save_operation(
        Operation(
            api=orders,
            name="get-order",
            display_name="Get order",
            method="GET",
            url_template="/orders/{orderId}",
        ),
        created=True,
    )
    return {"backend": backend, "token": issue_token(administrator, "schema tests")[1]}


def test_the_schema_is_valid_openapi():
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 33
    methods = {operation.method.upper() for operation in operations}
    assert methods == {"GET", "HEAD", "PUT", "PATCH", "DELETE"}


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=10,
    deadline=timedelta(seconds=5),
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case, seeded):
    response = case.call(headers={"Authorization": f"Bearer {seeded['token']}"})
    case.validate_response(response, checks=CHECKS)


@pytest.mark.django_db
def test_the_examples_in_the_schema_work(api, certificate, ca_certificate):
    """The docs' examples for backends, APIs, operations and policies are accepted as shown."""
    spec = openapi.schema()
    for path in (
        "/backends/{backendId}",
        "/apis/{apiId}",
        "/apis/{apiId}/operations/{operationId}",
        "/apis/{apiId}/policies/{policyId}",
    ):
        put = spec["paths"][path]["put"]
        concrete = path
        for parameter in put["parameters"]:
            if parameter["in"] == "path":
                concrete = concrete.replace(f"{{{parameter['name']}}}", parameter["example"])
        body = put["requestBody"]["content"]["application/json"]["example"]
        response = api.put(concrete, body)
        assert response.status_code in (200, 201), (path, response.content)
