"""Hand-written SQL, for the few statements the ORM cannot write well; each use says why.

Names come from the models' own table and column names, quoted by the connection; values are
always parameters (%s).
"""

import functools
import re

from django.db import connection

_NAME = re.compile(r"\{(\w+)(?:\.(\w+))?\}")


def sql(template: str, **names) -> str:
    """`template` with {x} replaced by the quoted table of the model names["x"], {x.field} by
    that field's quoted column (table-qualified), and {x} by x %s placeholders when names["x"]
    is a number.

        sql("SELECT COUNT(*) FROM {c} WHERE {c.not_after} > %s", c=Certificate)
    """
    return _compiled(connection.vendor, template, tuple(sorted(names.items())))


@functools.lru_cache(maxsize=256)
def _compiled(vendor: str, template: str, names: tuple) -> str:
    lookup = dict(names)
    quote = connection.ops.quote_name

    def replace(match) -> str:
        target = lookup[match[1]]
        if isinstance(target, int):
            return ", ".join(["%s"] * target)
        table = quote(target._meta.db_table)
        if match[2] is None:
            return table
        return f"{table}.{quote(target._meta.get_field(match[2]).column)}"

    return _NAME.sub(replace, template)


def datetime_parameter(value):
    """An aware datetime as the database stores it (the ORM adapts it the same way)."""
    return connection.ops.adapt_datetimefield_value(value)
