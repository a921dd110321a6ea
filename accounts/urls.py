from django.urls import path

from accounts import user_views

app_name = "users"

urlpatterns = [
    path("", user_views.user_list, name="list"),
    path("add/", user_views.user_add, name="add"),
    path("<str:username>/", user_views.user_detail, name="detail"),
    path("<str:username>/role/", user_views.user_role, name="role"),
    path("<str:username>/deactivate/", user_views.user_deactivate, name="deactivate"),
    path("<str:username>/reactivate/", user_views.user_reactivate, name="reactivate"),
    path("<str:username>/unlock/", user_views.user_unlock, name="unlock"),
    path("<str:username>/password/", user_views.user_password, name="password"),
]
