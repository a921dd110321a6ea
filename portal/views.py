from datetime import timedelta

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from audit.trail import record
from certificates.models import EXPIRING_SOON_DAYS, Certificate
from portal.roles import role_of


def home(request):
    context = {"role": role_of(request.user)}
    if request.user.has_perm("certificates.view_certificate"):
        now = timezone.now()
        soon = now + timedelta(days=EXPIRING_SOON_DAYS)
        context["totals"] = Certificate.objects.aggregate(
            all=Count("pk"),
            expired=Count("pk", filter=Q(not_after__lte=now)),
            expiring=Count("pk", filter=Q(not_after__gt=now, not_after__lte=soon)),
        )
        context["expiring_days"] = EXPIRING_SOON_DAYS
        context["next_to_expire"] = Certificate.objects.filter(not_after__gt=now).order_by(
            "not_after"
        )[:10]
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


def permission_denied(request, exception=None):
    """403 page; a refused change (a reviewer's POST, say) is also written to the audit trail."""
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.user.is_authenticated:
        record(
            request,
            "change-refused",
            object_type="url",
            object_id=request.path[:200],
            message=f"{request.method} refused: the user's role does not allow changes.",
        )
    return render(request, "403.html", status=403)
