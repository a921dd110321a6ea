"""What each REST entity looks like in the OpenAPI schema: properties, examples, titles."""

from certificates.validators import IDENTIFIER_MAX_LENGTH

IDENTIFIER = {
    "type": "string",
    "pattern": rf"^[A-Za-z0-9][A-Za-z0-9._-]{{0,{IDENTIFIER_MAX_LENGTH - 1}}}$",
    "maxLength": IDENTIFIER_MAX_LENGTH,
}
IDS = {"type": "array", "items": {"type": "string"}}


def _text(description: str, **extra) -> dict:
    return {"type": "string", "description": description, **extra}


def _flag(description: str) -> dict:
    return {"type": "boolean", "description": description, "default": True}


def json_object(properties: dict, required=()) -> dict:
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


CERTIFICATE_FACTS = json_object(
    {
        "subject": _text("The certificate's subject, e.g. 'CN=orders.example.com, O=Example'."),
        "thumbprint": _text("SHA-1 of the certificate, upper-case hex.", pattern="^[0-9A-F]{40}$"),
        "expirationDate": _text("When the certificate expires (UTC).", format="date-time"),
    },
    required=("subject", "thumbprint", "expirationDate"),
)
BACKEND = json_object(
    {
        "url": _text("The back end's base URL.", format="uri"),
        "protocol": _text("Always 'http' (HTTP or HTTPS by the URL).", enum=["http"]),
        "description": _text("Free text."),
        "tls": json_object(
            {
                "validateCertificateChain": _flag("Verify the back end's certificate chain."),
                "validateCertificateName": _flag("Verify the back end's host name."),
                "caCertificateIds": {**IDS, "description": "Trusted CA certificates (Ids)."},
            }
        ),
        "credentials": json_object(
            {
                "certificateIds": {**IDS, "description": "Client certificates presented (Ids)."},
                "certificate": {
                    **IDS,
                    "description": "The same certificates by thumbprint (used when "
                    "certificateIds is absent).",
                },
            }
        ),
    },
)
API = json_object(
    {
        "displayName": _text("The API's name as people see it.", maxLength=200),
        "path": _text(
            "URL suffix: callers reach the API at the gateway's /{path}/...", maxLength=200
        ),
        "serviceUrl": _text("The back end the gateway calls.", format="uri"),
        "protocols": {
            "type": "array",
            "items": {"type": "string", "enum": ["http", "https"]},
            "description": "Defaults to ['https'].",
        },
        "description": _text("Free text."),
    },
)
OPERATION = json_object(
    {
        "displayName": _text("The operation's name as people see it.", maxLength=200),
        "method": _text(
            "HTTP method.", enum=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        ),
        "urlTemplate": _text("For example /orders/{orderId}.", maxLength=500),
        "description": _text("Free text."),
    },
)
POLICY_READ = json_object(
    {"format": _text("Always 'xml'.", enum=["xml"]), "value": _text("The policy document.")},
    required=("format", "value"),
)

POLICY_EXAMPLE = (
    "<policies>\n    <inbound>\n        <base />\n"
    '        <authentication-certificate certificate-id="orders-client" />\n'
    "    </inbound>\n    <backend>\n        <base />\n    </backend>\n"
    "    <outbound>\n        <base />\n    </outbound>\n"
    "    <on-error>\n        <base />\n    </on-error>\n</policies>"
)
# What a PUT sends, per entity: shown in the docs and tried first by the schema tests.
EXAMPLES = {
    "certificates": {"data": "MIIKOQIBAzCCCe8GCSqGSIb3DQEHAaCC...", "password": "..."},
    "caCertificates": {"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t..."},
    "backends": {
        "url": "https://orders.internal:8443",
        "protocol": "http",
        "description": "Orders service",
        "tls": {
            "validateCertificateChain": True,
            "validateCertificateName": True,
            "caCertificateIds": ["internal-root"],
        },
        "credentials": {"certificateIds": ["orders-client"]},
    },
    "apis": {
        "displayName": "Orders API",
        "path": "orders",
        "serviceUrl": "https://orders.internal:8443/v1",
        "protocols": ["https"],
        "description": "",
    },
    "operations": {"displayName": "Get order", "method": "GET", "urlTemplate": "/orders/{orderId}"},
    "policies": {"format": "xml", "value": POLICY_EXAMPLE},
}
# An Id per path parameter, for the docs and the schema tests.
ID_EXAMPLES = {
    "certificateId": "orders-client",
    "caCertificateId": "internal-root",
    "backendId": "orders-backend",
    "apiId": "orders",
    "operationId": "get-order",
    "policyId": "policy",
}

# type: (component name, path parameter, title, what it is, properties read, properties written)
DOCS = {
    "certificates": (
        "Certificate",
        "certificateId",
        "Client certificates",
        "Certificates the gateway presents to back ends. PUT a .pfx file under an Id; PUT "
        "again under the same Id to replace (rotate) it: everything that uses the Id presents "
        "the new certificate from its next call.",
        CERTIFICATE_FACTS,
        json_object(
            {
                "data": _text("The .pfx (PKCS#12) file, base64.", format="byte"),
                "password": _text(
                    "The file's password; used once, never stored.", format="password"
                ),
            },
            required=("data",),
        ),
    ),
    "caCertificates": (
        "CaCertificate",
        "caCertificateId",
        "CA certificates",
        "Public certificates trusted when verifying back ends (a private CA).",
        CERTIFICATE_FACTS,
        json_object(
            {"data": _text("The certificate, PEM or DER, base64.", format="byte")},
            required=("data",),
        ),
    ),
    "backends": (
        "Backend",
        "backendId",
        "Backends",
        "Back end services: how the gateway verifies them and which client certificate it "
        "presents to them.",
        {**BACKEND, "required": ["url", "protocol", "description", "tls", "credentials"]},
        {**BACKEND, "required": ["url"]},
    ),
    "apis": (
        "Api",
        "apiId",
        "APIs",
        "APIs published through the gateway.",
        {**API, "required": ["displayName", "path", "serviceUrl", "protocols", "description"]},
        {**API, "required": ["displayName", "path", "serviceUrl"]},
    ),
    "operations": (
        "Operation",
        "operationId",
        "Operations",
        "An API's operations: a method and a URL template.",
        {**OPERATION, "required": ["displayName", "method", "urlTemplate", "description"]},
        {**OPERATION, "required": ["displayName", "method", "urlTemplate"]},
    ),
    "policies": (
        "Policy",
        "policyId",
        "Policies",
        "An API's policy document (one per API, named 'policy'). Saving it sets the API's "
        'gateway credentials, such as <authentication-certificate certificate-id="..." />.',
        POLICY_READ,
        json_object(
            {
                "format": _text("'xml' (default) or 'rawxml'.", enum=["xml", "rawxml"]),
                "value": _text("The policy document."),
            },
            required=("value",),
        ),
    ),
}
