from django.urls import path

from apis import views

app_name = "apis"

urlpatterns = [
    path("", views.api_list, name="list"),
    # "+" cannot appear in an Id, so no API can hide these pages.
    path("+add/", views.api_add, name="add"),
    path(
        "+replace-certificate/<str:certificate>/",
        views.replace_certificate,
        name="replace_certificate",
    ),
    path("<str:name>/", views.api_design, name="design"),
    path("<str:name>/backend/", views.backend_edit, name="backend"),
    path("<str:name>/settings/", views.api_edit, name="edit"),
    path("<str:name>/policy/", views.api_policy, name="policy"),
    path("<str:name>/delete/", views.api_delete, name="delete"),
    path("<str:name>/operations/+add/", views.operation_edit, name="operation_add"),
    path("<str:name>/operations/<str:operation>/", views.operation_edit, name="operation_edit"),
    path(
        "<str:name>/operations/<str:operation>/delete/",
        views.operation_delete,
        name="operation_delete",
    ),
]
