import json
from datetime import UTC
from urllib.parse import urlencode

from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from audit.forms import AuditFilterForm, filter_events
from audit.models import AuditEvent
from lib.csv import csv_lines
from lib.listing import filters, is_partial, page_of

PAGE_SIZE = 50
# The log counts up to this many events and then says "more than": counting a million
# events would take longer than showing them.
COUNT_LIMIT = 10_000
EXPORT_HEADER = [
    "When (UTC)",
    "Who",
    "Action",
    "Object type",
    "Object",
    "From",
    "Changes",
    "Message",
    "Before",
    "After",
]

can_view = permission_required("audit.view_auditevent", raise_exception=True)


def _filtered(request):
    form = AuditFilterForm(request.GET)
    filters, problems = form.usable()
    query = urlencode({name: str(value) for name, value in filters.items()})
    return form, query, problems, filter_events(AuditEvent.objects.all(), filters)


@can_view
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
@require_http_methods(["GET"])
def event_list(request):
    form, query, problems, events = _filtered(request)
    page = page_of(request, events, PAGE_SIZE, problems, key="id", count_limit=COUNT_LIMIT)
    base = reverse("audit:list")
    export = reverse("audit:export")
    context = {
        "form": form,
        "page": page,
        "count": page.paginator.count - page.count_capped,
        "query": query,
        "filters": filters(query),
        "problems": problems,
        "export_url": f"{export}?{query}" if query else export,
    }
    template = "audit/list.html"
    partial = is_partial(request)
    response = render(request, f"{template}#results" if partial else template, context)
    if partial:
        position = page.position if not page.number else {"page": page.number}
        extra = urlencode({k: v for k, v in position.items() if v != 1})
        pairs = query + (f"&{extra}" if extra else "")
        response["HX-Push-Url"] = f"{base}?{pairs.lstrip('&')}" if pairs else base
    return response


def _rows(events):
    for event in events:
        yield [
            event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            event.actor_name,
            event.action,
            event.object_type,
            event.object_id,
            event.source_address or "",
            event.changes_text(),
            event.message,
            "" if event.before is None else json.dumps(event.before, ensure_ascii=False),
            "" if event.after is None else json.dumps(event.after, ensure_ascii=False),
        ]


@can_view
@require_http_methods(["GET"])
def event_export(request):
    _form, _query, problems, events = _filtered(request)
    if problems:
        return HttpResponse(
            "Nothing was exported:\n" + "\n".join(problems) + "\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(
        csv_lines(EXPORT_HEADER, _rows(events.iterator(chunk_size=1000))),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.csv"'
    return response
