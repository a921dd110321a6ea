from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.shortcuts import render

from audit.models import AuditEvent


@permission_required("audit.view_auditevent", raise_exception=True)
def event_list(request):
    events = AuditEvent.objects.all()
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "audit/list.html", {"page": page})
