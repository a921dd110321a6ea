from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from certificates.actions import (
    CertificateExists,
    CertificateInUse,
    delete_certificate,
    import_ca_certificate,
    import_certificate,
)
from certificates.forms import PASSWORD_ERROR_CODES, CACertificateUploadForm, CertificateUploadForm
from certificates.models import CACertificate, Certificate
from certificates.pfx import PfxError

PAGE_SIZE = 50
VALIDITY_MESSAGES = {
    "expired": "This certificate has expired. It was stored, but back ends will refuse it.",
    "not yet valid": "This certificate is not valid yet. It was stored; back ends refuse it "
    "until its validity starts.",
}

can_view = permission_required("certificates.view_certificate", raise_exception=True)
can_add = permission_required("certificates.add_certificate", raise_exception=True)
can_delete = permission_required("certificates.delete_certificate", raise_exception=True)
can_view_ca = permission_required("certificates.view_cacertificate", raise_exception=True)
can_add_ca = permission_required("certificates.add_cacertificate", raise_exception=True)
can_delete_ca = permission_required("certificates.delete_cacertificate", raise_exception=True)


def _search(queryset, text: str):
    text = text.strip()
    if not text:
        return queryset
    compact = "".join(ch for ch in text if ch not in " :").upper()
    return queryset.filter(
        Q(name__icontains=text)
        | Q(subject__icontains=text)
        | Q(sans__icontains=text)
        | Q(thumbprint__startswith=compact)
    )


def _listing(request, queryset, template):
    query = request.GET.get("q", "")
    page = Paginator(_search(queryset, query), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "q": query, "query": f"q={query}" if query else ""}
    if request.htmx:
        template = f"{template}#results"
    return render(request, template, context)


@can_view
@require_http_methods(["GET"])
def certificate_list(request):
    certificates = Certificate.objects.with_usage_count().defer(
        "encrypted_private_key", "chain_pem"
    )
    return _listing(request, certificates, "certificates/list.html")


@can_add
@sensitive_variables("password", "data")
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def certificate_add(request):
    if request.method == "POST":
        form = CertificateUploadForm(request.POST, request.FILES)
        if form.is_valid():
            name = form.cleaned_data["name"]
            password = form.cleaned_data["password"]
            data = form.read_file()
            try:
                result = import_certificate(
                    name, data, password, replace=form.cleaned_data["replace"], request=request
                )
            except PfxError as exc:
                field = "password" if exc.code in PASSWORD_ERROR_CODES else "certificate"
                form.add_error(field, exc.message)
            except CertificateExists as exc:
                form.add_error("name", str(exc))
                form.offer_replace = exc.existing
            else:
                verb = "uploaded" if result.created else "replaced; APIs that use it present "
                if not result.created:
                    verb += "the new certificate from their next call"
                messages.success(request, f"Certificate {name} {verb}.")
                if result.validity_problem:
                    messages.warning(request, VALIDITY_MESSAGES[result.validity_problem])
                return redirect(result.certificate)
    else:
        replacing = request.GET.get("replace", "")
        initial = {"name": replacing, "replace": True} if replacing else {}
        form = CertificateUploadForm(initial=initial)
    return render(request, "certificates/add.html", {"form": form})


@can_view
def certificate_detail(request, name):
    certificate = get_object_or_404(Certificate, name=name)
    return render(
        request,
        "certificates/detail.html",
        {"certificate": certificate, "usages": certificate.usages()},
    )


def _download(certificate, fmt):
    if fmt == "pem":
        body, content_type = certificate.certificate_pem.encode(), "application/x-pem-file"
    else:
        body, content_type = certificate.certificate_der(), "application/pkix-cert"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{certificate.name}.{fmt}"'
    return response


@can_view
@require_http_methods(["GET"])
def certificate_download(request, name, fmt):
    return _download(get_object_or_404(Certificate, name=name), fmt)


def _delete(request, certificate, *, template, list_url):
    if request.method == "POST":
        try:
            delete_certificate(certificate, request=request)
        except CertificateInUse as exc:
            return render(
                request,
                "certificates/in_use.html",
                {"certificate": certificate, "usages": exc.usages},
                status=409,
            )
        messages.success(request, f"Certificate {certificate.name} deleted.")
        return redirect(list_url)
    return render(request, template, {"certificate": certificate})


@can_delete
@require_http_methods(["GET", "POST"])
def certificate_delete(request, name):
    certificate = get_object_or_404(Certificate, name=name)
    return _delete(
        request,
        certificate,
        template="certificates/delete.html",
        list_url="certificates:list",
    )


@can_view_ca
@require_http_methods(["GET"])
def ca_certificate_list(request):
    return _listing(request, CACertificate.objects.with_usage_count(), "certificates/ca_list.html")


@can_add_ca
@require_http_methods(["GET", "POST"])
def ca_certificate_add(request):
    form = CACertificateUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            ca = import_ca_certificate(
                form.cleaned_data["name"], form.cleaned_data["certificate"].read(), request=request
            )
        except PfxError as exc:
            form.add_error("name" if exc.code == "exists" else "certificate", exc.message)
        else:
            messages.success(request, f"CA certificate {ca.name} uploaded.")
            return redirect(ca)
    return render(request, "certificates/ca_add.html", {"form": form})


@can_view_ca
def ca_certificate_detail(request, name):
    ca = get_object_or_404(CACertificate, name=name)
    return render(
        request, "certificates/ca_detail.html", {"certificate": ca, "usages": ca.usages()}
    )


@can_view_ca
@require_http_methods(["GET"])
def ca_certificate_download(request, name, fmt):
    return _download(get_object_or_404(CACertificate, name=name), fmt)


@can_delete_ca
@require_http_methods(["GET", "POST"])
def ca_certificate_delete(request, name):
    ca = get_object_or_404(CACertificate, name=name)
    return _delete(
        request, ca, template="certificates/delete.html", list_url="ca_certificates:list"
    )
