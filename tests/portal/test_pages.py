"""Small things every page gets right: the icon, the anchors it links to, quiet refusals."""

import logging
import re

import pytest
from django.contrib.staticfiles import finders

from tests.certificates.factories import fake_certificates, use_in_api, use_in_backend

pytestmark = pytest.mark.django_db


def test_favicon_ico_answers_without_sign_in(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith("favicon.svg")
    assert finders.find("favicon.svg")


def test_every_backend_anchor_points_at_an_element(admin_client):
    (certificate,) = fake_certificates(1)
    use_in_api(certificate)
    use_in_backend(certificate)
    html = admin_client.get(certificate.get_absolute_url()).content.decode()
    targets = re.findall(r'href="([^"#]+)#backend"', html)
    assert len(targets) == 2
    for url in targets:
        page = admin_client.get(url)
        assert page.status_code == 200, url
        assert 'id="backend"' in page.content.decode(), url


def test_a_reviewer_refused_is_one_warning_line(reviewer_client, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert reviewer_client.get("/users/").status_code == 403
    (entry,) = [r for r in caplog.records if r.name == "django.request"]
    assert entry.levelno == logging.WARNING
    assert entry.exc_info is None and "Forbidden" in entry.getMessage()


def test_a_new_operation_defaults_to_get(admin_client):
    from apis.actions import create_api

    api = create_api(display_name="Orders", service_url="https://127.0.0.1:9/v1", path="orders")
    html = admin_client.get(f"/apis/{api.name}/operations/+add/").content.decode()
    assert re.search(r'<option value="GET" selected>', html)
    assert "---------" not in html
