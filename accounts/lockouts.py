"""Sign-in lockouts, as django-axes keeps them: who is locked out now, and lifting a lockout."""

from datetime import timedelta

from axes.conf import settings as axes_settings
from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from axes.utils import reset
from django.utils import timezone


def _attempts_locking_out(now=None):
    limit = axes_settings.AXES_FAILURE_LIMIT
    attempts = AccessAttempt.objects.filter(failures_since_start__gte=limit)
    cool_off = get_cool_off()
    if cool_off:
        attempts = attempts.filter(attempt_time__gte=(now or timezone.now()) - cool_off)
    return attempts


def locked_out_usernames(usernames) -> set[str]:
    """Which of `usernames` cannot sign in now (from at least one address), in one query."""
    attempts = _attempts_locking_out().filter(username__in=list(usernames))
    return set(attempts.values_list("username", flat=True))


def unlock(username: str) -> int:
    """Forget the failed sign-ins of `username` from every address; how many records went."""
    return reset(username=username)


def duration_text(delta: timedelta | None) -> str:
    """A lockout's length as people say it: '15 minutes', '1 hour', '1 hour 30 minutes'."""
    if not delta:
        return "until an administrator unlocks it"
    minutes = max(1, round(delta.total_seconds() / 60))
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)
