"""A back end's HTML, served from the gateway's origin, cannot act on the portal."""

import pytest

from accounts.models import ApiToken
from tests.gateway.backend_server import RawBackend
from tests.gateway.gateway_server import GatewayServer

pytestmark = pytest.mark.e2e

HOSTILE = """<!doctype html><html><head><title>hostile</title></head><body>
<form id="form" method="post" action="{portal}/tokens/">
<input name="name" value="form"><input name="scope" value="both"></form>
<script>
(async () => {{
  const seen = (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || "";
  document.title = "cookie:" + seen;
  const post = (token, name) => fetch("{portal}/tokens/", {{
    method: "POST", mode: "no-cors", credentials: "include",
    headers: {{"X-CSRFToken": token, "Content-Type": "application/x-www-form-urlencoded"}},
    body: "scope=both&name=" + name + "&csrfmiddlewaretoken=" + token,
  }}).catch(() => null);
  await post(seen, "read");
  // A script may set a cookie for the shared host name: plant a CSRF token of its own.
  document.cookie = "csrftoken=plantedplantedplantedplantedplant; path=/";
  await post("plantedplantedplantedplantedplant", "planted");
  document.body.dataset.done = "yes";
}})();
</script></body></html>"""


@pytest.fixture
def gateway(transactional_db):
    server = GatewayServer().start()
    yield server
    server.stop()


def test_a_back_ends_html_on_the_gateways_origin_creates_nothing_on_the_portal(
    sign_in, page, live_server, administrator, gateway, make_api
):
    html = HOSTILE.format(portal=live_server.url).encode()
    backend = RawBackend(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s"
        % (len(html), html)
    ).start()
    make_api(backend.url)
    from accounts.tokens import issue_token

    _, token = issue_token(administrator, "the administrator's own script")
    sign_in(administrator)
    before = set(ApiToken.objects.values_list("pk", flat=True))
    # The administrator's browser opens the API's answer (a link from anywhere would do); only
    # requests to the gateway carry the token, as a script calling it would.
    page.route(
        f"{gateway.url}/**",
        lambda route: route.continue_(
            headers={**route.request.headers, "authorization": f"Bearer {token}"}
        ),
    )
    page.goto(f"{gateway.url}/orders/orders/1")
    page.wait_for_selector("body[data-done=yes]", state="attached")
    assert page.title() == "cookie:"  # the portal's CSRF cookie is not readable by scripts
    page.evaluate("document.getElementById('form').submit()")
    page.wait_for_load_state()
    assert set(ApiToken.objects.values_list("pk", flat=True)) == before
    backend.stop()
