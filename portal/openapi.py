"""The REST API's OpenAPI 3 schema, assembled from the resources (portal.rest.RESOURCES)."""

import copy

from django.http import JsonResponse

from lib.rest import DEFAULT_TOP, MAX_BODY_BYTES, MAX_SKIP, MAX_TOP
from portal.openapi_entities import DOCS, EXAMPLES, ID_EXAMPLES, IDENTIFIER, json_object
from portal.rest import RESOURCES, api_get

ERROR = json_object(
    {
        "error": json_object(
            {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {
                    "type": "array",
                    "items": json_object(
                        {
                            "code": {"type": "string"},
                            "target": {"type": "string"},
                            "message": {"type": "string"},
                        },
                        required=("code", "target", "message"),
                    ),
                },
            },
            required=("code", "message", "details"),
        )
    },
    required=("error",),
)
ERRORS = {
    "400": "Bad input: malformed JSON, a wrong type, bad base64, an invalid Id or file.",
    "401": "No token, or an unknown or revoked one.",
    "403": "The token's user may not do this (reviewers read only; no role, nothing).",
    "404": "No such entity.",
    "409": "Conflicts with other entities, e.g. a certificate still in use.",
    "412": "If-Match (or If-None-Match) did not match the entity's ETag.",
    "413": f"The body is larger than {MAX_BODY_BYTES // 1024} KB.",
    "415": "The body is not JSON.",
}
ETAG_HEADER = {"ETag": {"description": "The entity's version.", "schema": {"type": "string"}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str, headers=None) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _errors(*codes: str) -> dict:
    return {code: {"$ref": f"#/components/responses/Error{code}"} for code in codes}


def _header(name: str, description: str) -> dict:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": {"type": "string"},
    }


def _path_parameter(name: str, schema: dict) -> dict:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema,
        "example": ID_EXAMPLES[name],
    }


def operations(resource) -> tuple[str, dict, str, dict]:
    component, parameter, title, _about, _read, _write = DOCS[resource.type]
    prefix, parameters = "", []
    if resource.parent is not None:
        parent_parameter = DOCS[resource.parent.type][1]
        prefix = f"/{resource.parent.type}/{{{parent_parameter}}}"
        parameters.append(_path_parameter(parent_parameter, IDENTIFIER))
    collection = f"{prefix}/{resource.type}"
    name_schema = (
        {"type": "string", "enum": ["policy"]} if resource.type == "policies" else IDENTIFIER
    )
    item_parameters = [*parameters, _path_parameter(parameter, name_schema)]
    not_found = ("404",) if resource.parent else ()
    listing = {
        "get": {
            "tags": [title],
            "summary": f"List {title if title[:2].isupper() else title[0].lower() + title[1:]}",
            "operationId": f"list{component}",
            "parameters": [
                *parameters,
                {
                    "name": "$top",
                    "in": "query",
                    "description": f"Page size (default {DEFAULT_TOP}).",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_TOP},
                },
                {
                    "name": "$skip",
                    "in": "query",
                    "description": "Entities to skip.",
                    "schema": {"type": "integer", "minimum": 0, "maximum": MAX_SKIP},
                },
            ],
            "responses": {
                "200": _json(_ref(f"{component}Collection"), "One page of entities."),
                **_errors("400", "401", "403", *not_found),
            },
        }
    }
    item = {
        "get": {
            "tags": [title],
            "summary": f"Get the {resource.noun}",
            "operationId": f"get{component}",
            "parameters": item_parameters,
            "responses": {
                "200": _json(_ref(component), "The entity.", ETAG_HEADER),
                **_errors("400", "401", "403", "404"),
            },
        },
        "put": {
            "tags": [title],
            "summary": f"Create or replace the {resource.noun}",
            "operationId": f"put{component}",
            "parameters": [
                *item_parameters,
                _header("If-Match", "Replace only if the ETag matches ('*': if it exists)."),
                _header("If-None-Match", "'*': create only, never replace."),
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": _ref(f"{component}Put"),
                        "example": {"properties": EXAMPLES[resource.type]},
                    }
                },
            },
            "responses": {
                "200": _json(_ref(component), "Replaced.", ETAG_HEADER),
                "201": _json(_ref(component), "Created.", ETAG_HEADER),
                **_errors("400", "401", "403", "404", "409", "412", "413", "415"),
            },
        },
    }
    if "DELETE" in resource.methods:
        item["delete"] = {
            "tags": [title],
            "summary": f"Delete the {resource.noun}",
            "operationId": f"delete{component}",
            "parameters": [*item_parameters, _header("If-Match", "Delete only if it matches.")],
            "responses": {
                "204": {"description": "Deleted."},
                **_errors("400", "401", "403", "404", "409", "412"),
            },
        }
    if resource.type == "policies":
        del item["put"]["responses"]["201"]
    return collection, listing, f"{collection}/{{{parameter}}}", item


def build_schema() -> dict:
    schemas, paths, tags = {"Error": ERROR}, {}, []
    for resource in RESOURCES:
        component, _parameter, title, about, read, write = DOCS[resource.type]
        tags.append({"name": title, "description": about})
        schemas[component] = json_object(
            {
                "id": {"type": "string", "description": "The entity's path under /api."},
                "type": {"type": "string", "enum": [resource.type]},
                "name": {"type": "string"},
                "properties": read,
            },
            required=("id", "type", "name", "properties"),
        )
        schemas[f"{component}Collection"] = json_object(
            {
                "value": {"type": "array", "items": _ref(component)},
                "count": {"type": "integer", "description": "Entities in all pages."},
                "nextLink": {"type": "string", "nullable": True, "description": "Next page."},
            },
            required=("value", "count", "nextLink"),
        )
        schemas[f"{component}Put"] = json_object({"properties": write}, required=("properties",))
        collection, listing, item_path, item = operations(resource)
        paths[collection], paths[item_path] = listing, item
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Certificate portal management API",
            "version": "1.0",
            "description": "Manage client certificates, CA certificates, backends, APIs, "
            "operations and policies. Entities are {id, type, name, properties}; every change "
            "is audited and obeys the same rules as the portal's pages.",
        },
        "servers": [{"url": "/api"}],
        "security": [{"bearerToken": []}],
        "tags": tags,
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from the portal's API tokens page or "
                    "'manage.py create_api_token USERNAME'.",
                }
            },
            "schemas": schemas,
            "responses": {
                f"Error{code}": _json(_ref("Error"), text) for code, text in ERRORS.items()
            },
        },
    }


SCHEMA = build_schema()


def schema() -> dict:
    return copy.deepcopy(SCHEMA)


@api_get
def schema_view(request):
    return JsonResponse(SCHEMA, json_dumps_params={"indent": 1})
