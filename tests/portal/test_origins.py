"""The portal and the gateway are two origins: the portal serves nothing of the gateway, and
no unsafe request from another origin changes anything on the portal."""

import pytest

from accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def test_the_portal_no_longer_serves_the_gateway(admin_client):
    assert admin_client.get("/gateway/orders/orders/1").status_code == 404


def test_the_csrf_cookie_is_out_of_reach_of_scripts(client, settings):
    assert settings.CSRF_COOKIE_HTTPONLY
    response = client.get("/signin/")
    assert response.cookies["csrftoken"]["httponly"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://127.0.0.1:8001"},  # the gateway's origin, same site
        {"Origin": "null"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_an_unsafe_request_from_another_origin_is_refused(admin_client, headers):
    response = admin_client.post("/tokens/", {"name": "evil", "scope": "both"}, headers=headers)
    assert response.status_code == 403
    assert "another origin" in response.content.decode() or "request may not" in (
        response.content.decode()
    )
    assert not ApiToken.objects.exists()


def test_an_unsafe_request_from_the_portals_own_pages_is_accepted(settings):
    from django.test import Client

    from tests.conftest import _user

    browser = Client(enforce_csrf_checks=False)
    browser.force_login(_user("ada", "Administrators"))
    response = browser.post(
        "/tokens/",
        {"name": "mine", "scope": "both"},
        headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 200
    assert ApiToken.objects.filter(name="mine").exists()


def test_the_portals_base_urls_are_settings(settings):
    assert settings.PORTAL_BASE_URL.startswith("http")
    assert settings.GATEWAY_BASE_URL.startswith("http")
    assert settings.PORTAL_BASE_URL != settings.GATEWAY_BASE_URL
