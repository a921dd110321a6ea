from django import template

from accounts.lockouts import duration_text

register = template.Library()


@register.filter
def lockout_duration(delta) -> str:
    """A timedelta as people say it: '15 minutes' (django-axes gives 'PT15M')."""
    return duration_text(delta)
