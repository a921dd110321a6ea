"""Sessions kept alive without a write per request (Django's database session store).

Django's SESSION_SAVE_EVERY_REQUEST writes the session (a write transaction) on every request
to push its expiry on. This middleware writes it at most once every SESSION_REFRESH_SECONDS:
the idle timeout then counts from the last write, so a session may end up to that long before
SESSION_COOKIE_AGE of idleness. The database row and the cookie expire together, as both are
renewed only when the session is saved.
"""

import time

from django.conf import settings

REFRESHED_AT = "_refreshed_at"


def refresh_interval() -> int:
    """SESSION_REFRESH_SECONDS, or a tenth of a short idle timeout (so that a session in use
    is renewed well before it can expire)."""
    return min(settings.SESSION_REFRESH_SECONDS, settings.SESSION_COOKIE_AGE // 10)


class SessionRefreshMiddleware:
    """Goes right after SessionMiddleware, so that it sees the response first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = request.session
        # Only a session this request read (every signed-in page does) and that holds something.
        if session.accessed and not session.is_empty():
            now = int(time.time())
            if now - session.get(REFRESHED_AT, 0) >= refresh_interval():
                session[REFRESHED_AT] = now  # modified: SessionMiddleware saves it
        return response
