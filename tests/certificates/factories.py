"""Certificate rows with made-up facts, inserted in bulk: for list pages, exports and counts.

No cryptography: nothing here is ever parsed, presented or decrypted. The usages are real
APIs and backends (tests stand above every floor of the apps).
"""

import hashlib
from datetime import timedelta

from django.utils import timezone

from apis.models import Api, Backend, BackendCertificate
from certificates.models import Certificate


def fake_certificate(index: int, *, now=None, **overrides) -> Certificate:
    now = now or timezone.now()
    name = overrides.pop("name", f"cert-{index:04d}")
    digest = hashlib.sha1(name.encode()).hexdigest().upper()
    facts = {
        "name": name,
        "subject": f"CN=host{index}.example.test, O=Tests",
        "issuer": "CN=Test Root CA, O=Tests",
        "sans": [f"host{index}.example.test"],
        "serial": f"{index:x}",
        "not_before": now - timedelta(days=10),
        "not_after": now + timedelta(days=index * 7 + 1),
        "thumbprint": digest,
        "sha256_fingerprint": hashlib.sha256(name.encode()).hexdigest().upper(),
        "certificate_pem": "not a real certificate",
        "key_type": "EC" if index % 3 == 0 else "RSA",
        "key_size": 256 if index % 3 == 0 else 2048,
        "encrypted_private_key": "not a real key",
        "uploaded_by_name": "tests",
    }
    facts.update(overrides)
    return Certificate(**facts)


def fake_certificates(count: int, *, start: int = 0, **overrides) -> list[Certificate]:
    now = timezone.now()
    rows = [fake_certificate(index, now=now, **overrides) for index in range(start, start + count)]
    return Certificate.objects.bulk_create(rows)


def use_in_api(certificate, name="orders"):
    return Api.objects.create(
        name=name,
        display_name=name.title(),
        path=name,
        service_url=f"https://{name}.example.test",
        client_certificate=certificate,
    )


def use_in_backend(certificate, name="orders-backend"):
    backend = Backend.objects.create(name=name, url=f"https://{name}.example.test")
    BackendCertificate.objects.create(backend=backend, certificate=certificate)
    return backend
