"""An OpenAPI 3.0 schema generated from the resources' declared properties (Pydantic models).

Nothing about an entity is restated here: the request schema is its `write_model`'s JSON schema,
the answer's is the same minus write-only properties (all others are always returned), and the
PATCH body is the request schema with nothing required. Resources add what the docs show:
`component`, `parameter`, `title`, `about`, `example`, `name_schema`, `id_example`.
"""

from lib.rest import DEFAULT_TOP, MAX_SKIP, MAX_TOP

ERROR_DETAIL = {
    "type": "object",
    "properties": {
        "code": {"type": "string"},
        "target": {"type": "string"},
        "message": {"type": "string"},
    },
    "required": ["code", "target", "message"],
}
ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "array", "items": ERROR_DETAIL},
            },
            "required": ["code", "message", "details"],
        }
    },
    "required": ["error"],
}
ETAG_HEADER = {"ETag": {"description": "The entity's version.", "schema": {"type": "string"}}}


def _inline(schema, definitions: dict):
    """`schema` for OpenAPI 3.0: $refs inlined, `X | None` as X, const as enum, no titles."""
    if isinstance(schema, list):
        return [_inline(item, definitions) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return _inline(definitions[schema["$ref"].rsplit("/", 1)[-1]], definitions)
    options = [o for o in schema.get("anyOf", []) if o.get("type") != "null"]
    if "anyOf" in schema and len(options) == 1:
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
        return _inline({**options[0], **rest}, definitions)
    converted = {}
    for key, value in schema.items():
        if key in ("title", "$defs") or (key == "default" and value is None):
            continue
        if key == "const":
            converted["enum"] = [value]
        elif key == "properties":
            converted[key] = {name: _inline(item, definitions) for name, item in value.items()}
        else:
            converted[key] = _inline(value, definitions)
    return converted


def request_schema(model) -> dict:
    schema = model.model_json_schema(by_alias=True)
    return _inline(schema, schema.get("$defs", {}))


def answer_schema(schema: dict) -> dict:
    """What the portal returns: every property but the write-only ones, always present."""
    if schema.get("type") == "array":
        return {**schema, "items": answer_schema(schema["items"])}
    if "properties" not in schema:
        return {k: v for k, v in schema.items() if k not in ("readOnly", "default")}
    properties = {
        name: answer_schema(item)
        for name, item in schema["properties"].items()
        if not item.get("writeOnly")
    }
    return {"type": "object", "properties": properties, "required": list(properties)}


def optional(schema: dict) -> dict:
    """The same properties, none required (a PATCH body)."""
    if "properties" not in schema:
        return schema
    properties = {name: optional(item) for name, item in schema["properties"].items()}
    return {k: v for k, v in schema.items() if k != "required"} | {"properties": properties}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def json_answer(schema: dict, description: str, headers=None) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def errors(*codes: str) -> dict:
    return {code: {"$ref": f"#/components/responses/Error{code}"} for code in codes}


def header(name: str, description: str) -> dict:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": {"type": "string"},
    }


def _path_parameter(resource) -> dict:
    return {
        "name": resource.parameter,
        "in": "path",
        "required": True,
        "schema": resource.name_schema,
        "example": resource.id_example,
    }


def _body(schema: dict, example: dict) -> dict:
    return {
        "required": True,
        "content": {"application/json": {"schema": schema, "example": {"properties": example}}},
    }


def _listing(resource, parameters: list, not_found: tuple) -> dict:
    fields = ", ".join(resource.filters)
    title = resource.title
    return {
        "get": {
            "tags": [title],
            "summary": f"List {title if title[:2].isupper() else title[0].lower() + title[1:]}",
            "operationId": f"list{resource.component}",
            "parameters": [
                *parameters,
                {
                    "name": "$filter",
                    "in": "query",
                    "description": "OData: eq ne gt lt ge le, startswith endswith contains, "
                    f"and or; over {fields}."
                    if fields
                    else "No field can be filtered on here.",
                    "schema": {"type": "string", "maxLength": 2000},
                },
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
                "200": json_answer(ref(f"{resource.component}Collection"), "One page."),
                **errors("400", "401", "403", *not_found),
            },
        }
    }


def _item(resource, parameters: list) -> dict:
    component, noun, tags = resource.component, resource.noun, [resource.title]
    write = ("400", "401", "403", "404", "409", "412", "413", "415", "429")
    item = {
        "get": {
            "tags": tags,
            "summary": f"Get the {noun}",
            "operationId": f"get{component}",
            "parameters": parameters,
            "responses": {
                "200": json_answer(ref(component), "The entity.", ETAG_HEADER),
                **errors("400", "401", "403", "404"),
            },
        },
        "head": {
            "tags": tags,
            "summary": f"The {noun}'s ETag, no body",
            "operationId": f"head{component}",
            "parameters": parameters,
            "responses": {
                "200": {"description": "It exists.", "headers": ETAG_HEADER},
                **errors("400", "401", "403", "404"),
            },
        },
        "put": {
            "tags": tags,
            "summary": f"Create or replace the {noun}",
            "operationId": f"put{component}",
            "parameters": [
                *parameters,
                header("If-Match", "Replace only if the ETag matches ('*': unconditionally)."),
                header("If-None-Match", "'*': create only, never replace."),
            ],
            "requestBody": _body(ref(f"{component}Put"), resource.example),
            "responses": {
                "200": json_answer(ref(component), "Replaced.", ETAG_HEADER),
                "201": json_answer(ref(component), "Created.", ETAG_HEADER),
                **errors(*write),
            },
        },
    }
    if "PATCH" in resource.methods:
        item["patch"] = {
            "tags": tags,
            "summary": f"Change some of the {noun}'s properties (merge)",
            "operationId": f"patch{component}",
            "parameters": [*parameters, header("If-Match", "Change only if the ETag matches.")],
            "requestBody": _body(ref(f"{component}Patch"), {"description": "Changed"}),
            "responses": {
                "200": json_answer(ref(component), "Changed.", ETAG_HEADER),
                **errors(*write),
            },
        }
    if "DELETE" in resource.methods:
        item["delete"] = {
            "tags": tags,
            "summary": f"Delete the {noun}" + (" (back to the default)" if resource.parent else ""),
            "operationId": f"delete{component}",
            "parameters": [*parameters, header("If-Match", "Delete only if it matches.")],
            "responses": {
                "204": {"description": "Deleted."},
                **errors("400", "401", "403", "404", "409", "412"),
            },
        }
    return item


def operations(resource) -> tuple[str, dict, str, dict]:
    """The collection's path and operations, then the item's."""
    prefix, parameters = "", []
    if resource.parent is not None:
        prefix = f"/{resource.parent.type}/{{{resource.parent.parameter}}}"
        parameters.append(_path_parameter(resource.parent))
    collection = f"{prefix}/{resource.type}"
    not_found = ("404",) if resource.parent else ()
    item_parameters = [*parameters, _path_parameter(resource)]
    return (
        collection,
        _listing(resource, parameters, not_found),
        f"{collection}/{{{resource.parameter}}}",
        _item(resource, item_parameters),
    )


def components(resource) -> dict:
    """The entity, its list, what PUT and PATCH accept."""
    write = request_schema(resource.write_model)
    entity = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "description": "The entity's path (a resource id on ARM)."},
            "type": {"type": "string", "description": f"'{resource.type}' (an ARM type on ARM)."},
            "name": {"type": "string"},
            "properties": answer_schema(write),
        },
        "required": ["id", "type", "name", "properties"],
    }
    collection = {
        "type": "object",
        "properties": {
            "value": {"type": "array", "items": ref(resource.component)},
            "count": {"type": "integer", "description": "Entities in all pages."},
            "nextLink": {"type": "string", "nullable": True, "description": "Next page."},
        },
        "required": ["value", "count", "nextLink"],
    }
    put = {"type": "object", "properties": {"properties": write}, "required": ["properties"]}
    names = {
        resource.component: entity,
        f"{resource.component}Collection": collection,
        f"{resource.component}Put": put,
    }
    if "PATCH" in resource.methods:
        names[f"{resource.component}Patch"] = optional(put)
    return names


def build(resources, info: dict, error_texts: dict, security: dict) -> dict:
    schemas, paths, tags = {"Error": ERROR}, {}, []
    for resource in resources:
        tags.append({"name": resource.title, "description": resource.about})
        schemas.update(components(resource))
        collection, listing, item_path, item = operations(resource)
        paths[collection], paths[item_path] = listing, item
    return {
        "openapi": "3.0.3",
        "info": info,
        "servers": [{"url": "/api"}],
        "security": [{name: []} for name in security],
        "tags": tags,
        "paths": paths,
        "components": {
            "securitySchemes": security,
            "schemas": schemas,
            "responses": {
                f"Error{code}": json_answer(ref("Error"), text)
                for code, text in error_texts.items()
            },
        },
    }
