"""Who calls the gateway: the portal's API tokens, in `Authorization: Bearer <token>` or, for
clients written for the reference product, `Ocp-Apim-Subscription-Key: <token>`.

A token must allow the `gateway` scope and its user must hold the permission to call APIs
(`apis.call_api`: administrators have it). A check is kept in memory for at most
TOKEN_CHECK_SECONDS, and never past the token's expiry: a revoked token, a deactivated user or a
role that lost the right to call APIs stops working within that time. Only a hash of the token
is kept.
"""

import hashlib
import time
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.utils import timezone

# The one place where the gateway learns who owns a token.
from accounts.models import Scope
from accounts.tokens import authenticate

TOKEN_CHECK_SECONDS = 5.0
SUBSCRIPTION_KEY_HEADER = "ocp-apim-subscription-key"


@dataclass(frozen=True)
class Caller:
    username: str
    may_call: bool  # the owner's role (or own permission) allows calling APIs
    seconds_left: float | None = None  # until the token expires; None: no expiry


def token_of(headers: list[tuple[str, str]]) -> tuple[str | None, str | None]:
    """The caller's token and the (lower-case) header that carried it; (None, None) without one.

    An Authorization header that is not a Bearer token is the caller's own, for the back end.
    """
    for name, value in headers:
        if name == "authorization":
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip(), name
    for name, value in headers:
        if name == SUBSCRIPTION_KEY_HEADER and value.strip():
            return value.strip(), name
    return None, None


def check_token(token: str) -> Caller | None:
    """Ask the database (blocking): the active token's owner, or None."""
    api_token = authenticate(token, Scope.GATEWAY)
    if api_token is None:
        return None
    user = api_token.user
    seconds_left = None
    if api_token.expires_at is not None:
        seconds_left = (api_token.expires_at - timezone.now()).total_seconds()
    return Caller(
        username=user.get_username(),
        may_call=user.has_perm("apis.call_api"),
        seconds_left=seconds_left,
    )


class CallerCache:
    """Token checks of one worker. Refused tokens are not kept, so a new token works at once."""

    def __init__(self, seconds: float = TOKEN_CHECK_SECONDS, max_size: int = 10_000):
        self.seconds = seconds
        self.max_size = max_size
        self.checks = 0
        self._known: dict[bytes, tuple[float, Caller]] = {}

    async def caller(self, token: str) -> Caller | None:
        key = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        known = self._known.get(key)
        now = time.monotonic()
        if known is not None and known[0] > now:
            return known[1]
        self.checks += 1
        caller = await sync_to_async(check_token)(token)
        if caller is None:
            self._known.pop(key, None)
            return None
        if len(self._known) >= self.max_size:
            self._known.clear()
        seconds = self.seconds
        if caller.seconds_left is not None:
            seconds = min(seconds, caller.seconds_left)
        self._known[key] = (now + seconds, caller)
        return caller
