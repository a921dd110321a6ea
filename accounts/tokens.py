"""API tokens: issue, recognise and revoke them.

A token is 32 random bytes (URL-safe base64) after a short marker, so that secret scanners and
people recognise it. Only its SHA-256 is stored; a token of that entropy needs no slow hash.
"""

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken, Scope
from audit.models import Action
from audit.trail import record

TOKEN_MARKER = "cpt_"
PREFIX_LENGTH = len(TOKEN_MARKER) + 8
# last_used_at is written at most this often per token, not on every call.
LAST_USED_PRECISION = timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue_token(
    user,
    name: str,
    *,
    scope: Scope = Scope.BOTH,
    expires_at=None,
    request=None,
    actor_name: str = "",
) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the stored record and the token, shown only once."""
    token = TOKEN_MARKER + secrets.token_urlsafe(32)
    with transaction.atomic():
        api_token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=token[:PREFIX_LENGTH],
            token_hash=hash_token(token),
            scope=scope,
            expires_at=expires_at,
        )
        after = {"name": name, "user": user.get_username(), "scope": api_token.scope}
        if expires_at is not None:
            after["expires"] = expires_at.isoformat()
        record(
            request,
            Action.API_TOKEN_CREATED,
            object_type="api-token",
            object_id=api_token.prefix,
            after=after,
            actor_name=actor_name,
        )
    return api_token, token


def revoke_token(api_token: ApiToken, *, request=None) -> None:
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=api_token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            record(
                request,
                Action.API_TOKEN_REVOKED,
                object_type="api-token",
                object_id=api_token.prefix,
                before={"name": api_token.name, "user": api_token.user.get_username()},
            )


def authenticate(token: str, scope: Scope) -> ApiToken | None:
    """The token whose hash matches, if it is usable for `scope`: not revoked, not expired,
    and its user active. Its user comes along (`api_token.user`); None otherwise."""
    if not token.startswith(TOKEN_MARKER) or len(token) > 200:
        return None
    api_token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=hash_token(token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    now = timezone.now()
    if api_token is None or api_token.is_expired(now) or not api_token.allows(scope):
        return None
    if api_token.last_used_at is None or now - api_token.last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
        api_token.last_used_at = now
    return api_token
