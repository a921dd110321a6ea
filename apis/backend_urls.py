from django.urls import path

from apis import backend_views, views

app_name = "backends"

urlpatterns = [
    path("", backend_views.backend_list, name="list"),
    # "+" cannot appear in an Id, so no backend can hide this page.
    path("+add/", backend_views.backend_add, name="add"),
    path(
        "+replace-ca-certificate/<str:certificate>/",
        views.replace_ca_certificate,
        name="replace_ca_certificate",
    ),
    path("<str:name>/", backend_views.backend_detail, name="detail"),
    path("<str:name>/edit/", backend_views.backend_edit, name="edit"),
    path("<str:name>/delete/", backend_views.backend_delete, name="delete"),
]
