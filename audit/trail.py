"""The one way every app writes to the audit trail."""

import logging

from django.conf import settings

from audit.client_address import TrustedProxies
from audit.models import Action, AuditEvent

logger = logging.getLogger("audit")


def source_address(request) -> str | None:
    """The client's address: REMOTE_ADDR, or behind the proxies PORTAL_TRUSTED_PROXIES trusts,
    the address they forwarded (see audit.client_address). Sign-in throttling uses it too
    (AXES_CLIENT_IP_CALLABLE), so a lockout and its audit event name the same address."""
    if request is None:
        return None
    proxies = getattr(settings, "PORTAL_TRUSTED_PROXIES", None) or TrustedProxies()
    return proxies.client_address(
        request.META.get("REMOTE_ADDR", ""), request.META.get("HTTP_X_FORWARDED_FOR", "")
    )


def record(
    request,
    action: Action,
    *,
    object_type: str = "",
    object_id: str = "",
    before: dict | None = None,
    after: dict | None = None,
    message: str = "",
    actor=None,
    actor_name: str = "",
) -> AuditEvent:
    """Write one audit event. `request` may be None for commands and background work."""
    user = getattr(request, "user", None)
    if actor is None and user is not None and user.is_authenticated:
        actor = user
    if actor is not None and not actor_name:
        actor_name = actor.get_username()
    event = AuditEvent.objects.create(
        actor=actor,
        actor_name=actor_name,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        source_address=source_address(request),
        before=before,
        after=after,
        message=message,
    )
    logger.info(
        "audit action=%s object=%s:%s actor=%s from=%s",
        action,
        object_type,
        object_id,
        actor_name or "-",
        event.source_address or "-",
    )
    return event
