"""The API page's Test tab: send one call through the gateway and show what happened."""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import aiohttp
import uvloop
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from apis.models import Api
from gateway import tls
from gateway.forwarding import Call, forward, note_presented, presence_due
from gateway.plans import FixedConfiguration
from gateway.routing import expand, parameter_names

SHOWN_BODY_BYTES = 1024 * 1024


class TestCallForm(forms.Form):
    operation = forms.ChoiceField(label="Operation")
    query = forms.CharField(
        label="Query", required=False, help_text="For example: expand=lines&top=10"
    )
    headers = forms.CharField(
        label="Headers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="One per line: Name: value",
    )
    body = forms.CharField(
        label="Body",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
    )

    def __init__(self, *args, operations, selected, **kwargs):
        super().__init__(*args, **kwargs)
        self.operations = {operation.name: operation for operation in operations}
        self.fields["operation"].choices = [
            (
                operation.name,
                f"{operation.method} {operation.url_template} · {operation.display_name}",
            )
            for operation in operations
        ]
        self.selected_operation = self.operations.get(selected) or next(iter(operations), None)
        self.parameter_fields = []
        if self.selected_operation is not None:
            self.fields["operation"].initial = self.selected_operation.name
            for name in parameter_names(self.selected_operation.url_template):
                field_name = f"parameter_{name}"
                self.fields[field_name] = forms.CharField(label=name, max_length=500)
                self.parameter_fields.append(field_name)

    def clean_headers(self):
        headers = []
        for number, line in enumerate(self.cleaned_data["headers"].splitlines(), start=1):
            if not line.strip():
                continue
            name, separator, value = line.partition(":")
            if not separator or not name.strip() or " " in name.strip():
                raise forms.ValidationError(f"Line {number} is not 'Name: value'.")
            headers.append((name.strip(), value.strip()))
        return headers

    def path(self) -> str:
        values = {
            field_name.removeprefix("parameter_"): self.cleaned_data[field_name]
            for field_name in self.parameter_fields
        }
        return expand(self.selected_operation.url_template, values)


def _shown_body(data: bytes, content_type: str) -> str:
    text = data.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            pass
    return text


def _check_result(enabled: bool, outcome, failed_code: str) -> str:
    if not enabled:
        return "Off"
    if outcome.failure is not None and outcome.failure.code == failed_code:
        return "On: failed"
    return "On: passed" if outcome.trace else "On: not reached"


def _send(request, api, form) -> dict:
    call = Call(
        method=form.selected_operation.method,
        path=quote(api.path, safe="/") + form.path(),
        query=form.cleaned_data["query"].lstrip("?"),
        headers=[(name.lower(), value) for name, value in form.cleaned_data["headers"]],
        body=form.cleaned_data["body"].encode(),
        client_address=request.META.get("REMOTE_ADDR", ""),
        scheme=request.scheme,
        host=request.get_host(),
        trace=True,
    )
    outcome, data = run_in_own_loop(_forward_and_read(call, FixedConfiguration(api)))
    if outcome.certificate_offered and presence_due(outcome.certificate):
        note_presented(outcome.certificate)
    result = {
        "outcome": outcome,
        "request_id": call.request_id,
        "url": f"{settings.GATEWAY_BASE_URL}/{call.path}",
    }
    if outcome.validation is not None:
        validation = outcome.validation
        result["chain_check"] = _check_result(
            validation.validate_chain, outcome, "backend_certificate_untrusted"
        )
        result["name_check"] = _check_result(
            validation.validate_name, outcome, "backend_certificate_name_mismatch"
        )
    if data is not None:
        content_type = next(
            (value for name, value in outcome.headers if name.lower() == "content-type"), ""
        )
        result["body"] = _shown_body(data, content_type)
    return result


def run_in_own_loop(coroutine):
    """Run a coroutine to its end on an event loop of its own (uvloop, as the gateway's server
    runs), in a thread of its own when this one already runs a loop."""

    def run():
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coroutine)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run()
    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(run).result()


async def _forward_and_read(call: Call, configuration: FixedConfiguration):
    """The same forwarding as the gateway's, inside this portal worker: a pool of its own for
    the one call, and the API's configuration as read just before (an administrator's action,
    not a caller's). Touches no database: it may run in a thread of its own."""
    pool = tls.ClientPool()
    try:
        outcome = await forward(call, pool, configuration)
        data = None
        if outcome.response is not None:
            try:
                data = b""
                async for chunk in outcome.response.content.iter_any():
                    data += chunk
                    if len(data) >= SHOWN_BODY_BYTES:
                        break
                data = data[:SHOWN_BODY_BYTES]
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                data = f"(the body could not be read: {type(exc).__name__})".encode()
            finally:
                outcome.response.release()
        return outcome, data
    finally:
        await pool.close()


@permission_required("apis.view_api", raise_exception=True)
@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
def test_console(request, name):
    api = get_object_or_404(Api.objects.select_related("client_certificate"), name=name)
    operations = list(api.operations.all())
    data = request.POST if request.method == "POST" else None
    selected = request.POST.get("operation") or request.GET.get("operation")
    form = TestCallForm(data, operations=operations, selected=selected)
    context = {"api": api, "tab": "test", "form": form, "operations": operations}
    if request.method == "POST":
        if not request.user.has_perm("apis.call_api"):
            raise PermissionDenied
        if form.is_valid():
            context["result"] = _send(request, api, form)
        if request.htmx:
            return render(request, "gateway/console.html#console", context)
    elif request.htmx:
        return render(request, "gateway/console.html#console", context)
    return render(request, "gateway/console.html", context)
