from collections import Counter

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from apis import actions, policy, replacement
from apis.effective import attach_effective_settings, effective_settings, validation_path
from apis.forms import ApiForm, GatewayCredentialsForm, OperationForm, PolicyForm
from apis.models import Api, Backend, Operation
from certificates.models import CACertificate, Certificate

EFFECTIVE_NOW = "Saved. The change is effective immediately: the gateway's next call uses it."

can_view = permission_required("apis.view_api", raise_exception=True)
can_add = permission_required("apis.add_api", raise_exception=True)
can_change = permission_required("apis.change_api", raise_exception=True)
can_delete = permission_required("apis.delete_api", raise_exception=True)


def _api(name) -> Api:
    return get_object_or_404(Api.objects.select_related("client_certificate"), name=name)


@can_view
@require_http_methods(["GET"])
def api_list(request):
    apis = attach_effective_settings(
        Api.objects.select_related("client_certificate").order_by("display_name")
    )
    # Names that differ only by case were allowed before: flag them rather than hide them.
    names = Counter(api.display_name.casefold() for api in apis)
    for api in apis:
        api.name_shared = names[api.display_name.casefold()] > 1
    return render(request, "apis/list.html", {"apis": apis})


@can_add
@require_http_methods(["GET", "POST"])
def api_add(request):
    form = ApiForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        api = actions.create_api(**form.cleaned_data, request=request)
        messages.success(request, f"API {api.display_name} created.")
        return redirect(api)
    return render(request, "apis/add.html", {"form": form})


def _design_context(api, **extra):
    effective = effective_settings(api)
    backend_name = effective.backend.name if effective.backend else ""
    try:
        inbound = api.parsed_policy().describe()
    except policy.PolicyError as exc:
        inbound = [f"The stored policy does not parse: {exc}"]
    else:
        for element in policy.unenforced_elements(api.policy_xml):
            inbound.append(
                f"Not enforced by this gateway: <{element.tag}> (line {element.line}); "
                "remove it from the policy"
            )
    if effective.certificate_from_backend:
        inbound.append(
            f"Backend {effective.backend.name} presents client certificate "
            f"{effective.certificate.name} to the back end"
        )
    return {
        "api": api,
        "tab": "design",
        "operations": api.operations.all(),
        "inbound": inbound,
        "backend": effective.backend,
        "effective": effective,
        "validation_path": validation_path(api, backend_name),
        **extra,
    }


@can_change
@require_http_methods(["GET", "POST"])
def api_edit(request, name):
    api = _api(name)
    form = ApiForm(request.POST or None, instance=api)
    if request.method == "POST" and form.is_valid():
        try:
            api = actions.update_api(
                api,
                **form.cleaned_data,
                protocols=api.protocols,
                version=_posted_version(request),
                request=request,
            )
        except actions.StaleChange as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, EFFECTIVE_NOW)
            return redirect(api)
    return render(request, "apis/edit.html", {"api": api, "form": form, "tab": "design"})


def _posted_version(request) -> int | None:
    version = request.POST.get("version", "")
    return int(version) if version.isdigit() else None


@can_view
@vary_on_headers("HX-Request")
@require_http_methods(["GET"])
def api_design(request, name):
    return render(request, "apis/design.html", _design_context(_api(name)))


@can_change
@sensitive_post_parameters("password")
@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
def backend_edit(request, name):
    api = _api(name)
    initial = {
        "kind": api.gateway_credentials,
        "certificate": api.client_certificate.name if api.client_certificate_id else None,
        "username": api.basic_username,
        "version": api.version,
    }
    form = GatewayCredentialsForm(request.POST or None, initial=initial, api=api)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        credentials = actions.GatewayCredentials(
            kind=data["kind"],
            certificate=data["certificate"],
            username=data["username"],
            password=data["password"] or None,
        )
        try:
            api = actions.set_gateway_credentials(
                api, credentials, version=data["version"], request=request
            )
        except (policy.PolicyError, actions.StaleChange) as exc:
            form.add_error(None, str(exc))
        else:
            if request.htmx:
                # The Backend panel, and the Inbound processing summary out of band: both
                # show the new credentials.
                context = _design_context(api, saved=EFFECTIVE_NOW, oob=True)
                panels = [
                    render_to_string(f"apis/design.html#{name}", context, request=request)
                    for name in ("backend", "inbound")
                ]
                return HttpResponse("".join(panels))
            messages.success(request, EFFECTIVE_NOW)
            return redirect(api)
    template = "apis/credentials_edit.html#form" if request.htmx else "apis/credentials_edit.html"
    context = _design_context(api, form=form)
    return render(request, template, context)


@can_view
@require_http_methods(["GET", "POST"])
def api_policy(request, name):
    api = _api(name)
    if request.method == "POST":
        if not request.user.has_perm("apis.change_api"):
            raise PermissionDenied
        form = PolicyForm(request.POST)
        if form.is_valid():
            try:
                api = actions.save_policy(
                    api,
                    form.cleaned_data["policy"],
                    version=form.cleaned_data["version"],
                    request=request,
                )
            except (policy.PolicyError, actions.StaleChange) as exc:
                form.add_error("policy", str(exc))
            else:
                messages.success(request, EFFECTIVE_NOW)
                return redirect("apis:policy", api.name)
    else:
        form = PolicyForm(initial={"policy": api.policy_xml, "version": api.version})
    return render(request, "apis/policy.html", {"api": api, "form": form, "tab": "policy"})


@can_delete
@require_http_methods(["GET", "POST"])
def api_delete(request, name):
    api = _api(name)
    if request.method == "POST":
        actions.delete_api(api, request=request)
        messages.success(request, f"API {api.display_name} deleted.")
        return redirect("apis:list")
    return render(request, "apis/delete.html", {"api": api, "tab": "design"})


@can_change
@require_http_methods(["GET", "POST"])
def operation_edit(request, name, operation=None):
    api = _api(name)
    instance = (
        get_object_or_404(Operation, api=api, name=operation) if operation else Operation(api=api)
    )
    form = OperationForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        created = instance.pk is None
        if created:
            instance.name = actions.unique_id(
                form.cleaned_data["display_name"], api.operations, "operation"
            )
        clash = api.operations.filter(
            method=instance.method, url_template=instance.url_template
        ).exclude(pk=instance.pk)
        if clash.exists():
            form.add_error(
                "url_template",
                "This API already has an operation for this method and URL template.",
            )
        else:
            actions.save_operation(instance, created=created, request=request)
            messages.success(request, f"Operation {instance} saved.")
            return redirect(api)
    return render(
        request,
        "apis/operation_edit.html",
        {"api": api, "form": form, "operation": instance, "tab": "design"},
    )


@can_change
@require_http_methods(["GET", "POST"])
def operation_delete(request, name, operation):
    api = _api(name)
    instance = get_object_or_404(Operation, api=api, name=operation)
    if request.method == "POST":
        actions.delete_operation(instance, request=request)
        messages.success(request, f"Operation {instance} deleted.")
        return redirect(api)
    return render(
        request, "apis/operation_delete.html", {"api": api, "operation": instance, "tab": "design"}
    )


def _replace(request, old, candidates, *, apis, backends, replace, what: str):
    """The page that moves everything using `old` to a certificate chosen from `candidates`."""
    error = None
    if request.method == "POST":
        new = candidates.filter(name=request.POST.get("certificate", "")).first()
        if new is None:
            error = "Choose the certificate that replaces it."
        else:
            changes = replace(old, new, request=request).changes()
            if changes:
                messages.success(
                    request, f"Replaced {old.name} with {new.name}: " + "; ".join(changes) + "."
                )
            else:
                messages.info(request, f"Nothing used {old.name}; nothing was changed.")
            return redirect(old)
    context = {
        "certificate": old,
        "what": what,
        "apis": apis,
        "backends": backends,
        "candidates": candidates,
        "error": error,
    }
    return render(request, "apis/replace_certificate.html", context)


@can_change
@require_http_methods(["GET", "POST"])
def replace_certificate(request, certificate):
    old = get_object_or_404(Certificate, name=certificate)
    apis, backends = replacement.client_certificate_users(old)
    return _replace(
        request,
        old,
        Certificate.objects.exclude(pk=old.pk),
        apis=apis,
        backends=backends,
        replace=replacement.replace_client_certificate,
        what="Client certificate",
    )


@permission_required("apis.change_backend", raise_exception=True)
@require_http_methods(["GET", "POST"])
def replace_ca_certificate(request, certificate):
    old = get_object_or_404(CACertificate, name=certificate)
    return _replace(
        request,
        old,
        CACertificate.objects.exclude(pk=old.pk),
        apis=[],
        backends=list(Backend.objects.filter(ca_certificates=old).order_by("name")),
        replace=replacement.replace_ca_certificate,
        what="CA certificate",
    )
