from django.urls import path, re_path

from certificates import views

app_name = "certificates"

urlpatterns = [
    path("", views.certificate_list, name="list"),
    # No slash at the end, so no certificate page (always "<Id>/") can hide the exports.
    re_path(r"^export\.(?P<fmt>csv|json)$", views.certificate_export, name="export"),
    # "+" cannot appear in an Id, so no certificate can hide this page.
    path("+add/", views.certificate_add, name="add"),
    path("<str:name>/", views.certificate_detail, name="detail"),
    re_path(
        r"^(?P<name>[^/]+)/download\.(?P<fmt>cer|pem)$", views.certificate_download, name="download"
    ),
    path("<str:name>/ownership/", views.certificate_ownership, name="ownership"),
    path("<str:name>/delete/", views.certificate_delete, name="delete"),
]
