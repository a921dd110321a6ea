from django.urls import path, re_path

from certificates import views

app_name = "ca_certificates"

urlpatterns = [
    path("", views.ca_certificate_list, name="list"),
    # "+" cannot appear in an Id, so no certificate can hide this page.
    path("+add/", views.ca_certificate_add, name="add"),
    path("<str:name>/", views.ca_certificate_detail, name="detail"),
    re_path(
        r"^(?P<name>[^/]+)/download\.(?P<fmt>cer|pem)$",
        views.ca_certificate_download,
        name="download",
    ),
    path("<str:name>/delete/", views.ca_certificate_delete, name="delete"),
]
