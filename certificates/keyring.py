"""The portal's key ring, read from settings once per configuration value."""

from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from certificates.keystore import KeyRing, KeyRingError


@lru_cache(maxsize=4)
def _parse(text: str) -> KeyRing:
    return KeyRing.parse(text)


def current() -> KeyRing:
    """The configured key ring; raises ImproperlyConfigured rather than run without one."""
    text = getattr(settings, "PORTAL_KEYRING", "") or ""
    if not text.strip():
        raise ImproperlyConfigured(
            "PORTAL_KEYRING is empty: the portal never stores a private key in clear."
        )
    try:
        return _parse(text)
    except KeyRingError as exc:
        raise ImproperlyConfigured(f"PORTAL_KEYRING is not usable: {exc}") from None


def check_configured() -> None:
    current()
