"""/api/docs: a reference page drawn on the server from the OpenAPI schema (no scripts)."""

import json

from django.shortcuts import render

from lib.openapi import answer_schema, operations, request_schema
from portal.openapi import ERRORS, SCHEMA
from portal.rest import RESOURCES, page_get


def _fields(schema: dict, prefix: str = "") -> list[dict]:
    rows = []
    for key, value in schema.get("properties", {}).items():
        name = f"{prefix}{key}"
        kind = value.get("type", "")
        if kind == "array":
            kind = f"array of {value['items'].get('type', '')}"
        if value.get("readOnly"):
            kind += " (read-only, ignored)"
        if "enum" in value:
            kind += " (" + " | ".join(value["enum"]) + ")"
        required = key in schema.get("required", [])
        rows.append(
            {
                "name": name,
                "type": kind,
                "required": required,
                "description": value.get("description", ""),
            }
        )
        if value.get("type") == "object":
            rows.extend(_fields(value, f"{name}."))
    return rows


@page_get
def docs_view(request):
    sections = []
    for resource in RESOURCES:
        write = request_schema(resource.write_model)
        collection, listing, item_path, item = operations(resource)
        endpoints = [
            {
                "method": method.upper(),
                "path": route,
                "summary": spec["summary"],
                "responses": sorted(spec["responses"]),
            }
            for route, operations in ((collection, listing), (item_path, item))
            for method, spec in operations.items()
        ]
        sections.append(
            {
                "title": resource.title,
                "anchor": resource.type,
                "about": resource.about,
                "endpoints": endpoints,
                "read": _fields(answer_schema(write)),
                "write": _fields(write),
                "example": json.dumps({"properties": resource.example}, indent=2),
            }
        )
    context = {"sections": sections, "errors": sorted(ERRORS.items()), "info": SCHEMA["info"]}
    return render(request, "portal/api_docs.html", context)
