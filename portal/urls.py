from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import user_views
from accounts import views as account_views
from gateway import console
from portal import views
from portal.api_urls import ARM_PATTERNS

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path(
        "signin/",
        auth_views.LoginView.as_view(
            template_name="portal/signin.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("signout/", auth_views.LogoutView.as_view(), name="logout"),
    path("certificates/", include("certificates.urls")),
    # The API page's Test tab lives with the gateway, which does the sending.
    path("apis/<str:name>/test/", console.test_console, name="api_test"),
    path("apis/", include("apis.urls")),
    path("backends/", include("apis.backend_urls")),
    path("ca-certificates/", include("certificates.ca_urls")),
    path("audit/", include("audit.urls")),
    path("tokens/", account_views.token_list, name="api_tokens"),
    path("tokens/<int:pk>/revoke/", account_views.token_revoke, name="api_token_revoke"),
    path("users/", include("accounts.urls")),
    path("password/", user_views.password_change, name="password_change"),
    path("api/", include("portal.api_urls")),
    *ARM_PATTERNS,
    path("admin/", admin.site.urls),
]

handler403 = "portal.views.permission_denied"
handler500 = "portal.views.server_error"
