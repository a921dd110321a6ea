"""Template context: where callers reach the gateway (its own origin)."""

from django.conf import settings


def gateway_base_url(request) -> dict:
    return {"gateway_base_url": settings.GATEWAY_BASE_URL}
