"""The REST API's backends, APIs, operations and policies: their properties, declared once.

Validation (lib.rest.validate), /api/openapi.json and /api/docs are generated from these models;
attributes are snake_case, the JSON camelCase; anything not declared is refused by name.
"""

from typing import Literal

from pydantic import Field

from lib.rest import Properties

POLICY_EXAMPLE = (
    "<policies>\n    <inbound>\n        <base />\n"
    '        <authentication-certificate certificate-id="orders-client" />\n'
    "    </inbound>\n    <backend>\n        <base />\n    </backend>\n"
    "    <outbound>\n        <base />\n    </outbound>\n"
    "    <on-error>\n        <base />\n    </on-error>\n</policies>"
)


def _text(description: str, default=..., **schema):
    """A declared property; required unless given a default."""
    return Field(default, description=description, json_schema_extra=schema or None)


class ApiProperties(Properties):
    """An API: its name on pages, URL suffix on the gateway and the back end it calls."""

    display_name: str = _text("The API's name as people see it.")
    path: str = _text("URL suffix: callers reach the API at the gateway's /{path}/...")
    service_url: str = _text("The back end's base URL.", format="uri")
    protocols: list[Literal["http", "https"]] | None = _text("Defaults to ['https'].", None)
    description: str | None = _text("Free text.", None)


class OperationProperties(Properties):
    """One operation of an API: a method and a URL template."""

    display_name: str = _text("The operation's name as people see it.")
    method: str = _text("HTTP method: GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS.")
    url_template: str = _text("For example /orders/{orderId}.")
    description: str | None = _text("Free text.", None)


class PolicyProperties(Properties):
    """An API's policy document (XML)."""

    format: Literal["xml", "rawxml"] | None = _text(
        "'xml' (default) or 'rawxml'; read as 'xml'.", None
    )
    value: str = _text("The policy document.")


class BackendTls(Properties):
    validate_certificate_chain: bool | None = _text(
        "Verify the back end's certificate chain.", None
    )
    validate_certificate_name: bool | None = _text("Verify the back end's host name.", None)
    ca_certificate_ids: list[str] | None = _text(
        "Trusted CA certificates (Ids or resource ids); the reference has no such property.", None
    )


class BackendCredentials(Properties):
    certificate_ids: list[str] | None = _text(
        "Client certificates presented (Ids or resource ids).", None
    )
    certificate: list[str] | None = _text(
        "The same certificates by thumbprint (used when certificateIds is absent).", None
    )


class BackendProperties(Properties):
    """A back end: its URL, how its TLS is checked, the client certificate presented."""

    url: str = _text("The back end's base URL.", format="uri")
    protocol: Literal["http"] | None = _text("Always 'http' (HTTP or HTTPS by the URL).", None)
    description: str | None = _text("Free text.", None)
    tls: BackendTls | None = None
    credentials: BackendCredentials | None = None
