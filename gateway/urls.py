from django.urls import path

from gateway import views

app_name = "gateway"

urlpatterns = [
    path("<path:path>", views.gateway_call, name="call"),
]
