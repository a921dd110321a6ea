from django.urls import path

from apis import views

app_name = "backends"

urlpatterns = [
    path("", views.backend_list, name="list"),
]
