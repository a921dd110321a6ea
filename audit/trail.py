"""The one way every app writes to the audit trail."""

import logging

from audit.models import Action, AuditEvent

logger = logging.getLogger("audit")


def source_address(request) -> str | None:
    # REMOTE_ADDR is the peer that connected; forwarded-for headers are not trusted here.
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


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
