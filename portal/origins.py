"""Every unsafe request to the portal comes from the portal's own pages, or from no browser.

A browser names the page that sent a request in `Origin` (and, in newer browsers, says in
`Sec-Fetch-Site` how it relates to the target). A POST from any other origin is refused here,
before any view or CSRF check, whatever the session: a page served from the gateway's origin
(a back end's HTML) or another port of the same host is another origin, though the browser
counts it as the same site for cookies. Scripts with an API token send neither header.
"""

from django.conf import settings
from django.http import HttpResponseForbidden

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


class SameOriginMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in SAFE_METHODS:
            refusal = refused_origin(request)
            if refusal is not None:
                return HttpResponseForbidden(refusal, content_type="text/plain")
        return self.get_response(request)


def refused_origin(request) -> str | None:
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in {"same-origin", "none"}:
        return f"Refused: a {fetch_site} request may not change anything on the portal.\n"
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    allowed = {
        f"{request.scheme}://{request.get_host()}",
        settings.PORTAL_BASE_URL,
        *settings.CSRF_TRUSTED_ORIGINS,
    }
    if origin not in allowed:
        return "Refused: this request comes from another origin than the portal's.\n"
    return None
