"""REST API tokens: issue, recognise and revoke them.

A token is 32 random bytes (URL-safe base64) after a short marker, so that secret scanners and
people recognise it. Only its SHA-256 is stored; a token of that entropy needs no slow hash.
"""

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from audit.trail import record
from portal import rawsql
from portal.auth import load_user
from portal.models import ApiToken

TOKEN_MARKER = "cpt_"
PREFIX_LENGTH = len(TOKEN_MARKER) + 8
# last_used_at is written at most this often per token, not on every call.
LAST_USED_PRECISION = timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue_token(user, name: str, *, request=None, actor_name: str = "") -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the stored record and the token, shown only once."""
    token = TOKEN_MARKER + secrets.token_urlsafe(32)
    with transaction.atomic():
        api_token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=token[:PREFIX_LENGTH],
            token_hash=hash_token(token),
        )
        record(
            request,
            "api-token-created",
            object_type="api-token",
            object_id=api_token.prefix,
            after={"name": name, "user": user.get_username()},
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
                "api-token-revoked",
                object_type="api-token",
                object_id=api_token.prefix,
                before={"name": api_token.name, "user": api_token.user.get_username()},
            )


def authenticate(token: str) -> ApiToken | None:
    """The active token whose hash matches, with its (active) user; None otherwise."""
    if not token.startswith(TOKEN_MARKER) or len(token) > 200:
        return None
    # A statement written by hand (see portal.rawsql): every call through the gateway runs it.
    statement = rawsql.sql(
        "SELECT {token}.* FROM {token} JOIN {user} ON {user.id} = {token.user} "
        "WHERE {token.token_hash} = %s AND {token.revoked_at} IS NULL AND {user.is_active} = %s",
        token=ApiToken,
        user=get_user_model(),
    )
    api_token = rawsql.first(ApiToken.objects.raw(statement, [hash_token(token), True]))
    user = load_user(api_token.user_id) if api_token is not None else None
    if user is None or not user.is_active:
        return None
    api_token.user = user
    now = timezone.now()
    if api_token.last_used_at is None or now - api_token.last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
        api_token.last_used_at = now
    return api_token
