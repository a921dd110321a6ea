"""/api/: the REST API's entities, its OpenAPI schema and docs, and JSON 404s for the rest.

`ARM_PATTERNS` serve the same entities on the reference's management paths at the portal's root
(`/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.ApiManagement/service/{name}/...`);
portal/urls.py includes them.
"""

from django.http import JsonResponse
from django.urls import path, re_path

from portal import api_docs, openapi
from portal.rest import RESOURCES, api_get, api_view, arm_view

app_name = "api"


@api_get
def root(request):
    """Where to start: the collections, the schema and the docs."""
    collections = [f"/api/{r.type}" for r in RESOURCES if r.parent is None]
    return JsonResponse(
        {"openapi": "/api/openapi.json", "docs": "/api/docs", "collections": collections}
    )


urlpatterns = [
    path("", root, name="root"),
    path("openapi.json", openapi.schema_view, name="openapi"),
    path("docs", api_docs.docs_view, name="docs"),
    re_path(r"^(?P<rest>.*)$", api_view),
]


def _any_case(word: str) -> str:
    """A pattern for `word` in any case that Django can still reverse (no inline flags)."""
    return "".join(f"[{char.upper()}{char.lower()}]" if char.isalpha() else char for char in word)


# The rest of the path is matched in portal.rest.arm_view, fixed segments in any case, as on ARM.
ARM_PATTERNS = [re_path(rf"^(?P<path>{_any_case('subscriptions')}(?:/.*)?)$", arm_view)]
