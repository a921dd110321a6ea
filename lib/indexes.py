"""Indexes that only one database can make, and the pg_trgm extension they need.

A model lists them like any index; on the other database the migration writes an SQL comment
in their place, so that one migration applies cleanly on SQLite and on PostgreSQL.
"""

from django.contrib.postgres.indexes import OpClass
from django.contrib.postgres.operations import TrigramExtension
from django.db import DatabaseError, models
from django.db.models import OrderBy
from django.db.models.functions import Collate
from django.db.models.indexes import IndexExpression

PG_TRGM_MISSING = (
    "The portal's searches need PostgreSQL's pg_trgm extension, and this database role may "
    "not create it. Ask the database's owner (on a managed PostgreSQL: the administrator role "
    "the provider gives you) to run CREATE EXTENSION IF NOT EXISTS pg_trgm; in this database, "
    "or allow pg_trgm in the provider's extension settings, then run migrate again. "
    "See docs/deployment.md."
)

# What django.contrib.postgres's AppConfig.ready() does, without installing that app: an
# operator class wraps an index expression (`(UPPER(x)) gin_trgm_ops`), it is not wrapped.
IndexExpression.register_wrappers(OrderBy, OpClass, Collate)


class PostgreSQLIndex(models.Index):
    """An index made on PostgreSQL only; other databases get an SQL comment in its place."""

    def create_sql(self, model, schema_editor, *args, **kwargs):
        if schema_editor.connection.vendor == "postgresql":
            return super().create_sql(model, schema_editor, *args, **kwargs)
        return f"-- {self.name}: an index on PostgreSQL only"

    def remove_sql(self, model, schema_editor, *args, **kwargs):
        if schema_editor.connection.vendor == "postgresql":
            return super().remove_sql(model, schema_editor, *args, **kwargs)
        return f"-- {self.name}: an index on PostgreSQL only"


class TrigramIndex(PostgreSQLIndex):
    """pg_trgm's GIN index over a field or an expression: serves `LIKE '%text%'` (Django's
    `contains`; `icontains` when the expression is Upper(field)) whatever the length of the
    text, where a b-tree entry is limited to 2,704 bytes. Made here rather than with
    django.contrib.postgres's GinIndex, which would need that app installed on SQLite too."""

    def __init__(self, expression, *, name: str):
        if isinstance(expression, str):
            expression = models.F(expression)
        super().__init__(OpClass(expression, name="gin_trgm_ops"), name=name)

    def deconstruct(self):
        path, _args, kwargs = super().deconstruct()
        return path, (self.expressions[0].source_expressions[0],), {"name": kwargs["name"]}

    def create_sql(self, model, schema_editor, *args, **kwargs):
        return super().create_sql(model, schema_editor, *args, **{**kwargs, "using": " USING gin"})


class EnablePgTrgm(TrigramExtension):
    """CREATE EXTENSION IF NOT EXISTS pg_trgm on PostgreSQL (nothing on SQLite), with a clear
    message when the role may not."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        try:
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        except DatabaseError as error:
            raise RuntimeError(f"{PG_TRGM_MISSING}\n(PostgreSQL said: {error})") from error

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass  # other tables may use the extension: it stays.
