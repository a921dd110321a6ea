"""The dispatcher: one implementation behind `/api/...` and the management (ARM) paths.

`Dispatcher.dispatch(request, path, route)` finds the resource for a path such as
`/apis/orders/operations/list`, checks the method, asks the `guard` (the project's token or
session authentication and permissions, given by portal/rest.py) and answers: lists with
`$filter`/`$top`/`$skip` and `nextLink`; items with GET, HEAD, PUT, PATCH (merge) and DELETE;
ETag / If-Match / If-None-Match under one lock. Bad input answers 4xx, never 5xx.
"""

import logging
import re

from django.contrib.auth import get_permission_codename
from django.db import transaction
from django.http import JsonResponse

from lib import odata
from lib.rest import (
    DEFAULT_TOP,
    MAX_SKIP,
    MAX_TOP,
    Properties,
    RestError,
    Route,
    detail,
    entity_response,
    error_response,
    etag,
    invalid,
    merge,
    no_content,
    read_body,
    validate,
)

logger = logging.getLogger(__name__)


def permissions_of(model, *, writes_as: str | None = None) -> dict[str, str]:
    """Django's permission names for a model ("app.view_model", ...), read from its _meta.
    With `writes_as` ("change"), every write needs that one permission: entities that live
    inside another (an API's operations) change their parent."""
    opts = model._meta

    def name(action: str) -> str:
        needed = writes_as if writes_as and action != "view" else action
        return f"{opts.app_label}.{get_permission_codename(needed, opts)}"

    return {action: name(action) for action in ("view", "add", "change", "delete")}


class Resource:
    """One kind of entity. Subclasses (in their apps) fill in the blanks."""

    type = ""  # the collection's URL segment
    model = None
    methods = ("GET", "HEAD", "PUT", "DELETE")
    parent: "Resource | None" = None  # the entity these live under, e.g. an API's operations
    permissions: dict[str, str] = {}  # "view", "add", "change", "delete" -> permission name
    write_model = Properties  # the writable properties, declared
    filters: dict[str, str] = {"name": "name"}  # $filter names -> model fields
    # For the schema and the docs (lib/openapi.py):
    component = ""  # its name in the schema: "Certificate"
    parameter = ""  # its Id's path parameter: "certificateId"
    title = ""  # "Client certificates"
    about = ""  # what it is, in a sentence or two
    example: dict = {}  # the properties of a PUT, as the docs show it
    id_example = ""
    name_schema: dict = {"type": "string"}

    @property
    def noun(self) -> str:
        """What one entity is called in messages: 'certificate', 'API'."""
        return str(self.model._meta.verbose_name)

    def check_name(self, name: str) -> None:
        """Raise a RestError for a name that cannot be an Id."""

    def queryset(self, parent):
        return self.model.objects.all()

    def lookup(self, parent, name: str, *, for_update: bool = False):
        queryset = self.queryset(parent)
        if for_update:
            queryset = queryset.select_for_update()
        return queryset.filter(name=name).first()

    def is_set(self, obj) -> bool:
        """False for an entity that exists only as its default (an API's unset policy)."""
        return True

    def name_of(self, obj) -> str:
        return obj.name

    def path(self, obj, parent=None) -> str:
        prefix = self.parent.path(parent) if self.parent else ""
        return f"{prefix}/{self.type}/{self.name_of(obj)}"

    def entity(self, obj, parent, route: Route) -> dict:
        return {
            "id": route.entity_id(self.path(obj, parent)),
            "type": route.entity_type(self),
            "name": self.name_of(obj),
            "properties": self.properties(obj, route),
        }

    def properties(self, obj, route: Route) -> dict:
        raise NotImplementedError

    def put(self, request, parent, name: str, properties, existing, route: Route):
        """Create or replace the entity from validated `properties`; return it."""
        raise NotImplementedError

    def delete(self, request, obj) -> None:
        raise NotImplementedError


def not_found(resource, name: str) -> RestError:
    message = f"No {resource.noun} with the Id {name[:100]}."
    return RestError(404, "ResourceNotFound", message, [detail("NotFound", "name", message)])


def nothing_at(request) -> RestError:
    return RestError(404, "ResourceNotFound", f"There is nothing at {request.path[:200]}.")


def _page_parameter(request, name: str, default: int, minimum: int, maximum: int) -> int:
    value = request.GET.get(name)
    if value is None:
        return default
    if not value.isascii() or not value.isdigit() or not minimum <= int(value) <= maximum:
        raise invalid(name, f"{name} must be a whole number from {minimum} to {maximum}.")
    return int(value)


def _check_preconditions(request, current: str | None) -> None:
    """`current` is the entity's ETag, None when it does not exist."""
    if_match = request.headers.get("If-Match")
    if if_match is not None:
        tags = {tag.strip() for tag in if_match.split(",")}
        # '*' on a PUT creates or replaces unconditionally, as ARM clients expect.
        unconditional = "*" in tags and (current is not None or request.method == "PUT")
        if not unconditional and current not in tags:
            raise RestError(
                412,
                "PreconditionFailed",
                "The entity has changed since you read it (or does not exist): If-Match did "
                "not match its ETag. GET it again and retry.",
            )
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None and current is not None:
        tags = {tag.strip() for tag in if_none_match.split(",")}
        if "*" in tags or current in tags:
            raise RestError(
                412, "PreconditionFailed", "The entity exists and If-None-Match forbids that."
            )


class Dispatcher:
    """Routes paths under a prefix onto resources; `guard` authenticates and authorises."""

    def __init__(self, resources, guard):
        self.resources = resources
        self.guard = guard
        self.routes = []
        for resource in resources:
            prefix = f"/{resource.parent.type}/(?P<parent>[^/]+)" if resource.parent else ""
            collection = f"{prefix}/{resource.type}"
            for pattern, handler in (
                (collection, self.list),
                (f"{collection}/(?P<name>[^/]+)", self.item),
            ):
                methods = ("GET",) if handler == self.list else resource.methods
                regex = re.compile(f"^{pattern}$", re.IGNORECASE)
                self.routes.append((regex, resource, methods, handler))

    def match(self, path: str):
        for regex, resource, methods, handler in self.routes:
            found = regex.match(path)
            if found:
                return resource, methods, handler, found.groupdict()
        return None

    def dispatch(self, request, path: str, route: Route):
        try:
            matched = self.match(path)
            if matched is None:
                raise nothing_at(request)
            resource, methods, handler, names = matched
            if request.method not in methods:
                response = error_response(
                    RestError(
                        405,
                        "MethodNotAllowed",
                        f"{request.method} is not allowed here; use {', '.join(methods)}.",
                    )
                )
                response["Allow"] = ", ".join(methods)
                return response
            self.guard.authenticate(request)
            self.guard.require(request, resource.permissions["view"])
            parent = self.parent(resource, names.get("parent"))
            return handler(request, resource, parent, names.get("name"), route)
        except RestError as error:
            return error_response(error)
        except Exception:
            logger.exception("REST API failure on %s %s", request.method, request.path)
            return error_response(
                RestError(500, "InternalError", "Something went wrong on our side.")
            )

    def parent(self, resource, parent_name):
        parent_resource = resource.parent
        if parent_resource is None:
            return None
        parent_resource.check_name(parent_name)
        parent = parent_resource.lookup(None, parent_name)
        if parent is None:
            raise not_found(parent_resource, parent_name)
        return parent

    def list(self, request, resource, parent, name, route):
        top = _page_parameter(request, "$top", DEFAULT_TOP, 1, MAX_TOP)
        skip = _page_parameter(request, "$skip", 0, 0, MAX_SKIP)
        queryset = resource.queryset(parent)
        text = request.GET.get("$filter")
        if text is not None and text.strip():
            try:
                queryset = queryset.filter(odata.to_q(text, resource.model, resource.filters))
            except odata.FilterError as exc:
                raise invalid("$filter", str(exc), "InvalidFilter") from None
        count = queryset.count()
        entities = [resource.entity(obj, parent, route) for obj in queryset[skip : skip + top]]
        next_link = None
        if skip + top < count:
            query = request.GET.copy()
            query["$top"], query["$skip"] = str(top), str(skip + top)
            next_link = request.build_absolute_uri(f"{request.path}?{query.urlencode(safe='$/')}")
        return JsonResponse({"value": entities, "count": count, "nextLink": next_link})

    def item(self, request, resource, parent, name, route):
        resource.check_name(name)
        if request.method in ("GET", "HEAD"):
            obj = resource.lookup(parent, name)
            if obj is None:
                raise not_found(resource, name)
            entity = resource.entity(obj, parent, route)
            head = request.method == "HEAD"
            return entity_response(entity, version=self.version(resource, obj, parent), head=head)
        work = {"PUT": self.put, "PATCH": self.patch, "DELETE": self.delete}[request.method]
        if "If-Match" not in request.headers and "If-None-Match" not in request.headers:
            return work(request, resource, parent, name, resource.lookup(parent, name), route)
        # A conditional change: compare and write under one lock, so nothing slips in between.
        with transaction.atomic():
            existing = resource.lookup(parent, name, for_update=True)
            try:
                if existing is None and request.method != "PUT":
                    raise not_found(resource, name)
                current = self.version(resource, existing, parent) if existing else None
                _check_preconditions(request, current)
                return work(request, resource, parent, name, existing, route)
            except RestError as error:
                # Commit what was recorded meanwhile, such as a refused change's audit event.
                return error_response(error)

    @staticmethod
    def version(resource, obj, parent) -> str:
        """The ETag: of the `/api/` shape, so both route shapes agree."""
        return etag(resource.entity(obj, parent, Route()))

    def put(self, request, resource, parent, name, existing, route, body=None):
        created = existing is None or (route.arm and not resource.is_set(existing))
        self.guard.require(request, resource.permissions["add" if created else "change"])
        body = read_body(request) if body is None else body
        properties = validate(resource.write_model, body["properties"])
        obj = resource.put(request, parent, name, properties, existing, route)
        entity = resource.entity(obj, parent, route)
        version = self.version(resource, obj, parent)
        if not created:
            return entity_response(entity, version=version)
        location = route.url(request, resource.path(obj, parent))
        return entity_response(entity, 201, location, version=version)

    def patch(self, request, resource, parent, name, existing, route):
        if existing is None:
            raise not_found(resource, name)
        body = read_body(request)
        current = resource.properties(existing, route)
        merged = {"properties": merge(current, body["properties"])}
        return self.put(request, resource, parent, name, existing, route, merged)

    def delete(self, request, resource, parent, name, existing, route):
        if existing is None:
            raise not_found(resource, name)
        self.guard.require(request, resource.permissions["delete"])
        resource.delete(request, existing)
        return no_content()
