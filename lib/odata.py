"""OData `$filter` to a Django `Q`, for the subset the reference documents on list operations.

The text is parsed by odata-query's grammar; this module then checks the tree holds only what we
support (`eq ne gt lt ge le`, `startswith endswith contains`, `and or`, over the fields a resource
names) and maps the reference's property paths (`properties/displayName`) onto model fields before
odata-query's Django adapter turns it into a `Q`. No SQL text is ever built from the filter.
"""

import logging

from django.db import models
from django.db.models import Q
from odata_query import ast
from odata_query import exceptions as odata_errors
from odata_query.django.django_q import AstToDjangoQVisitor
from odata_query.grammar import ODataLexer, ODataParser
from odata_query.rewrite import AliasRewriter

MAX_FILTER_LENGTH = 2000
# It warns on every field whose type it cannot guess; the fields here are checked by name.
logging.getLogger("odata_query.typing").setLevel(logging.ERROR)
COMPARATORS = {
    ast.Eq: "eq",
    ast.NotEq: "ne",
    ast.Gt: "gt",
    ast.Lt: "lt",
    ast.GtE: "ge",
    ast.LtE: "le",
}
FUNCTIONS = ("startswith", "endswith", "contains")
LITERALS = (ast.String, ast.Integer, ast.Float, ast.Boolean, ast.DateTime, ast.Date)


class FilterError(ValueError):
    """The filter cannot be used; the message says why."""


def field_name(node) -> str | None:
    """'properties/displayName' for the tree of that path, None for anything else."""
    if isinstance(node, ast.Identifier) and not node.namespace:
        return node.name
    if isinstance(node, ast.Attribute):
        owner = field_name(node.owner)
        return f"{owner}/{node.attr}" if owner else None
    return None


def _check_field(node, fields: dict, model) -> tuple[str, tuple]:
    """The field's filter name and the literals it may be compared with."""
    name = field_name(node)
    if name is None:
        raise FilterError("Compare a field with a value, e.g. name eq 'orders'.")
    if name not in fields:
        raise FilterError(
            f"Filtering on '{name}' is not supported; use {', '.join(sorted(fields))}."
        )
    if isinstance(model._meta.get_field(fields[name]), models.DateTimeField | models.DateField):
        return name, (ast.DateTime, ast.Date)
    return name, (ast.String,)


def _check_value(node, name: str, kinds: tuple) -> None:
    if not isinstance(node, LITERALS):
        raise FilterError("Values are quoted strings or dates (2027-01-01T00:00:00Z).")
    if not isinstance(node, kinds):
        what = "a date, unquoted" if ast.String not in kinds else "a quoted string"
        raise FilterError(f"'{name}' compares with {what}.")


def _check(node, fields: dict, model) -> None:
    if isinstance(node, ast.BoolOp):
        if not isinstance(node.op, ast.And | ast.Or):
            raise FilterError("Only 'and' and 'or' combine conditions.")
        _check(node.left, fields, model)
        _check(node.right, fields, model)
    elif isinstance(node, ast.Compare):
        if type(node.comparator) not in COMPARATORS:
            raise FilterError(f"Comparisons are {', '.join(COMPARATORS.values())}.")
        _check_value(node.right, *_check_field(node.left, fields, model))
    elif isinstance(node, ast.Call):
        name = node.func.full_name()
        if name.lower() not in FUNCTIONS or len(node.args) != 2:
            raise FilterError(
                f"'{name}' is not supported; functions are {', '.join(FUNCTIONS)}(field, 'text')."
            )
        _field, kinds = _check_field(node.args[0], fields, model)
        if ast.String not in kinds or not isinstance(node.args[1], ast.String):
            raise FilterError(f"{name} takes a text field and a quoted string.")
    elif isinstance(node, ast.UnaryOp):
        raise FilterError("'not' is not supported; use ne or the opposite comparison.")
    else:
        raise FilterError("A filter is conditions joined by 'and' / 'or'.")


def to_q(text: str, model, fields: dict[str, str]) -> Q:
    """`fields` maps the filter's names ('properties/displayName') onto `model`'s fields."""
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterError(f"The filter is longer than {MAX_FILTER_LENGTH} characters.")
    try:
        tree = ODataParser().parse(ODataLexer().tokenize(text))
    except odata_errors.ODataException as exc:
        raise FilterError(f"The filter is not valid OData: {exc}") from None
    except (RecursionError, IndexError, TypeError, ValueError):
        raise FilterError("The filter is not valid OData.") from None
    if tree is None:
        raise FilterError("The filter is empty.")
    _check(tree, fields, model)
    tree = AliasRewriter({name: field for name, field in fields.items() if name != field}).visit(
        tree
    )
    try:
        q = AstToDjangoQVisitor(model).visit(tree)
    except odata_errors.ODataException as exc:
        raise FilterError(f"The filter cannot be used: {exc}") from None
    if not isinstance(q, Q):
        q = Q(q)
    return q
