from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from certificates.actions import (
    CertificateExists,
    CertificateInUse,
    delete_certificate,
    import_ca_certificate,
    import_certificate,
)
from certificates.export import csv_stream, json_stream
from certificates.forms import (
    PASSWORD_ERROR_CODES,
    CACertificateUploadForm,
    CertificateUploadForm,
    OwnershipForm,
)
from certificates.inventory import Inventory, attach_usages, usages_by_certificate
from certificates.models import CACertificate, Certificate
from certificates.ownership import ownership_summary, set_ownership
from certificates.search import search
from certificates.upload_errors import UploadError
from lib.listing import filters, is_partial, page_of

PAGE_SIZE = 50
VALIDITY_MESSAGES = {
    "expired": "This certificate has expired. It was stored, but back ends will refuse it.",
    "not yet valid": "This certificate is not valid yet. It was stored; back ends refuse it "
    "until its validity starts.",
}

can_view = permission_required("certificates.view_certificate", raise_exception=True)
can_add = permission_required("certificates.add_certificate", raise_exception=True)
can_change = permission_required("certificates.change_certificate", raise_exception=True)
can_delete = permission_required("certificates.delete_certificate", raise_exception=True)
can_view_ca = permission_required("certificates.view_cacertificate", raise_exception=True)
can_add_ca = permission_required("certificates.add_cacertificate", raise_exception=True)
can_delete_ca = permission_required("certificates.delete_cacertificate", raise_exception=True)


def _listing(request, queryset, template):
    query = request.GET.get("q", "")
    problems = []
    page = page_of(request, search(queryset, query), PAGE_SIZE, problems)
    context = {
        "page": page,
        "q": query,
        "filters": filters(urlencode({"q": query}) if query else ""),
        "problems": problems,
    }
    if is_partial(request):
        template = f"{template}#results"
    return render(request, template, context)


@can_view
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
@require_http_methods(["GET"])
def certificate_list(request):
    inventory = Inventory.from_query(request.GET)
    problems = list(inventory.problems)
    now = timezone.now()
    exact = inventory.exact_match(now)
    certificates = inventory.certificates(now, exact=exact)
    per_page = inventory.filters["per_page"]
    page = page_of(
        request, certificates, per_page, problems, key="name", count_limit=inventory.count_limit
    )
    # An exact Id or thumbprint is shown first, on the first page, then the other matches.
    first = exact is not None and page.number == 1
    context = {
        "inventory": inventory,
        "form": inventory.form(),
        "page": page,
        "certificates": attach_usages(([exact] if first else []) + list(page.object_list)),
        "exact": exact if first else None,
        "total": page.paginator.count + (exact is not None) - page.count_capped,
        "count_capped": page.count_capped,
        "shown_from": 1 if first else page.start_index() if page.number else None,
        "shown_to": page.end_index() + first if page.number else None,
        "query": inventory.query(),
        "filters": filters(inventory.query()),
        "problems": problems,
        "columns": inventory.columns(),
        "csv_url": inventory.export_url("csv"),
        "json_url": inventory.export_url("json"),
    }
    template = "certificates/list.html"
    if not is_partial(request):
        return render(request, template, context)
    response = render(request, f"{template}#results", context)
    # The address bar shows the filters in their short form, ready to share.
    response["HX-Push-Url"] = inventory.url(
        **({"page": page.number} if page.number else page.position)
    )
    return response


@can_view
@require_http_methods(["GET"])
def certificate_export(request, fmt):
    inventory = Inventory.from_query(request.GET)
    if inventory.problems:
        # An export is a record that leaves the portal: refuse rather than widen it silently.
        return HttpResponse(
            inventory.export_refusal(),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    certificates = inventory.certificates()
    if fmt == "csv":
        body, content_type = csv_stream(certificates), "text/csv; charset=utf-8"
    else:
        filters = {k: v for k, v in inventory.filters.items() if k != "per_page"}
        body = json_stream(certificates, filters=filters)
        content_type = "application/json"
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="client-certificates-{stamp}.{fmt}"'
    return response


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
            except UploadError as exc:
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


def _usages(certificate) -> list:
    # The same objects as certificate.usages(), with what they name joined (no query each).
    return usages_by_certificate([certificate]).get(certificate.pk, [])


def _detail_context(request, certificate, **extra) -> dict:
    context = {"certificate": certificate, **extra}
    if "ownership_form" not in context and request.user.has_perm("certificates.change_certificate"):
        context["ownership_form"] = OwnershipForm(initial=ownership_summary(certificate))
    return context


@can_view
@require_http_methods(["GET"])
def certificate_detail(request, name):
    certificate = get_object_or_404(Certificate, name=name)
    context = _detail_context(request, certificate, usages=_usages(certificate))
    return render(request, "certificates/detail.html", context)


@can_change
@vary_on_headers("HX-Request")
@require_http_methods(["POST"])
def certificate_ownership(request, name):
    certificate = get_object_or_404(Certificate, name=name)
    form = OwnershipForm(request.POST)
    saved = None
    if form.is_valid():
        saved = set_ownership(certificate, **form.cleaned_data, request=request)
        if not request.htmx:
            text = "Owner, contact and tags saved." if saved else "Nothing changed."
            messages.success(request, text)
            return redirect(certificate)
        form = OwnershipForm(initial=ownership_summary(certificate))
    context = _detail_context(request, certificate, ownership_form=form, saved=saved)
    if request.htmx:
        return render(request, "certificates/detail.html#ownership", context)
    context["usages"] = _usages(certificate)
    return render(request, "certificates/detail.html", context)


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


def _in_use(request, certificate, usages, *, status):
    """The warning that a certificate cannot be deleted while these objects use it."""
    if isinstance(certificate, Certificate):
        replace = (
            "apis:replace_certificate",
            "apis.change_api",
            "Replace in all APIs and backends",
        )
    else:
        replace = (
            "backends:replace_ca_certificate",
            "apis.change_backend",
            "Replace in all backends",
        )
    url_name, permission, label = replace
    context = {
        "certificate": certificate,
        "usages": usages,
        "replace_url": reverse(url_name, args=[certificate.name]),
        "replace_label": label if request.user.has_perm(permission) else "",
    }
    return render(request, "certificates/in_use.html", context, status=status)


def _delete(request, certificate, *, template, list_url):
    if request.method == "POST":
        try:
            delete_certificate(certificate, request=request)
        except CertificateInUse as exc:
            return _in_use(request, certificate, exc.usages, status=409)
        messages.success(request, f"Certificate {certificate.name} deleted.")
        return redirect(list_url)
    # Warn first, as the reference does: no confirmation for a deletion that cannot happen.
    if usages := sorted(certificate.usages(), key=str):
        return _in_use(request, certificate, usages, status=200)
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
        except UploadError as exc:
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
