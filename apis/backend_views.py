from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from apis import actions, policy
from apis.effective import attach_effective_settings
from apis.forms import BackendForm
from apis.models import Api, Backend

can_view = permission_required("apis.view_backend", raise_exception=True)
can_add = permission_required("apis.add_backend", raise_exception=True)
can_change = permission_required("apis.change_backend", raise_exception=True)
can_delete = permission_required("apis.delete_backend", raise_exception=True)


def _backend(name) -> Backend:
    return get_object_or_404(Backend, name=name)


@can_view
@require_http_methods(["GET"])
def backend_list(request):
    backends = Backend.objects.prefetch_related("ca_certificates", "client_certificates")
    return render(request, "backends/list.html", {"backends": backends})


@can_view
@require_http_methods(["GET"])
def backend_detail(request, name):
    backend = _backend(name)
    apis = attach_effective_settings(backend.apis())
    return render(request, "backends/detail.html", {"backend": backend, "apis": apis})


def _edit(request, backend):
    form = BackendForm(request.POST or None, instance=backend)
    if request.method == "POST" and form.is_valid():
        certificate = form.cleaned_data["client_certificate"]
        try:
            backend = actions.save_backend(
                form.save(commit=False),
                ca_certificates=form.cleaned_data["ca_certificates"],
                client_certificates=[certificate] if certificate else [],
                version=form.cleaned_data["version"],
                request=request,
            )
        except (policy.PolicyError, actions.StaleChange) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Backend {backend.name} saved. The change is effective immediately: the "
                "gateway's next call uses it.",
            )
            return redirect(backend)
    return render(request, "backends/edit.html", {"form": form, "backend": backend})


@can_add
@require_http_methods(["GET", "POST"])
def backend_add(request):
    # ?url= prefills the URL: the Design tab and the gateway's validation errors link here.
    return _edit(request, Backend(url=request.GET.get("url", "")[:2000]))


@can_change
@require_http_methods(["GET", "POST"])
def backend_edit(request, name):
    return _edit(request, _backend(name))


@can_delete
@require_http_methods(["GET", "POST"])
def backend_delete(request, name):
    backend = _backend(name)
    naming = Api.objects.filter(backend_name=backend.name)
    if naming.exists():
        return render(
            request, "backends/in_use.html", {"backend": backend, "apis": naming}, status=409
        )
    if request.method == "POST":
        actions.delete_backend(backend, request=request)
        messages.success(request, f"Backend {backend.name} deleted.")
        return redirect("backends:list")
    return render(request, "backends/delete.html", {"backend": backend})
