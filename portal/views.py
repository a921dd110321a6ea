import sys

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.roles import role_of
from audit.models import Action
from audit.trail import record
from certificates import inventory
from portal.bar_chart import Point, bar_chart

HORIZONS = (30, 60, 90)


def _expiry_chart(now):
    points = []
    for index, (month, count) in enumerate(inventory.expirations_by_month(now, 12)):
        noun = "certificate" if count == 1 else "certificates"
        points.append(
            Point(
                label=f"{month:%b}",
                description=f"{month:%B %Y}: {count} {noun}",
                value=count,
                note=f"{month:%Y}" if index == 0 or month.month == 1 else "",
            )
        )
    return bar_chart(points)


def _dashboard(now) -> dict:
    totals = inventory.expiry_totals(now, HORIZONS)
    cards = [
        ("Client certificates", totals["all"], inventory.list_url()),
        ("Expired", totals["expired"], inventory.list_url(status="expired")),
    ]
    for days in HORIZONS:
        cards.append(
            (
                f"Expiring within {days} days",
                totals[f"within_{days}"],
                inventory.list_url(status="expiring", within=days),
            )
        )
    cards.append(("Unused", totals["unused"], inventory.list_url(usage="unused")))
    return {
        "cards": cards,
        "chart": _expiry_chart(now),
        "next_to_expire": inventory.next_to_expire(now, 10),
    }


def home(request):
    context = {"role": role_of(request.user)}
    if request.user.has_perm("certificates.view_certificate"):
        context.update(_dashboard(timezone.now()))
    return render(request, "portal/home.html", context)


@login_not_required
@require_GET
@never_cache
def healthz(request):
    """For load balancers: 200 only when the database answers; says nothing else."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")


@login_not_required
@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page says; send them to the real icon."""
    return redirect(static("favicon.svg"))


def permission_denied(request, exception=None):
    """403 page; a refused change (a reviewer's POST, say) is also written to the audit trail."""
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.user.is_authenticated:
        record(
            request,
            Action.CHANGE_REFUSED,
            object_type="url",
            object_id=request.path[:200],
            message=f"{request.method} refused: the user's role does not allow changes.",
        )
    return render(request, "403.html", status=403)


def server_error(request):
    """500 page; a database that does not answer gets a 503 that says so, never a traceback."""
    error = sys.exc_info()[1]
    if isinstance(error, OperationalError | InterfaceError):
        return render(request, "503.html", status=503)
    return render(request, "500.html", status=500)
