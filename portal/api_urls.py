"""/api/: the REST API's entities, its OpenAPI schema and docs, and JSON 404s for the rest."""

from django.http import JsonResponse
from django.urls import path, re_path

from portal import api_docs, openapi
from portal.rest import RESOURCES, Endpoint, api_get, not_found

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
    *[url for resource in RESOURCES for url in Endpoint(resource).urls()],
    re_path(r"^(?P<rest>.*)$", not_found),
]
