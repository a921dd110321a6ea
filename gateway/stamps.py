"""Read the configuration stamp on every call, from the gateway's event loop, without a thread.

The stamp (gateway.models.ConfigurationStamp) is one row read by its primary key. Django's ORM is
blocking: through a worker thread it cost about 0.7 ms a call (the thread hop and the GIL the
two threads then share), a third of the gateway's whole time over nginx. So each worker keeps a
connection of its own for this one statement:
- SQLite: a read-only connection, queried inline (an indexed one-row read in WAL mode takes tens
  of microseconds and never waits for a writer);
- PostgreSQL: psycopg's asyncio connection, in autocommit (one round trip, no thread).
Other databases fall back to the ORM in a thread. The statement is the ORM's own SQL for the
query; a broken connection is opened again on the next read.
"""

import asyncio
import sqlite3
from pathlib import Path

from asgiref.sync import sync_to_async
from django.db import connections

from gateway.models import STAMP_ROW, ConfigurationStamp


def read_with_orm() -> str | None:
    return ConfigurationStamp.objects.filter(pk=STAMP_ROW).values_list("value", flat=True).first()


class StampReader:
    def __init__(self, alias: str = "default"):
        self.alias = alias
        self._connection = None
        self._lock = asyncio.Lock()

    def _statement(self) -> tuple[str, tuple]:
        """The ORM's own SQL for the read (with %s placeholders) and its parameters."""
        query = ConfigurationStamp.objects.using(self.alias).filter(pk=STAMP_ROW)
        return query.values_list("value").query.sql_with_params()

    async def read(self) -> str | None:
        # Read once: django.db.connections is per task under asyncio, and costly to set up.
        vendor = self._vendor = getattr(self, "_vendor", None) or connections[self.alias].vendor
        if vendor == "sqlite":
            return self._read_sqlite()
        if vendor == "postgresql":
            return await self._read_postgresql()
        return await sync_to_async(read_with_orm)()

    def _read_sqlite(self) -> str | None:
        if self._connection is None:
            name = Path(connections[self.alias].settings_dict["NAME"]).resolve()
            self._connection = sqlite3.connect(
                f"{name.as_uri()}?mode=ro", uri=True, check_same_thread=False, timeout=20
            )
            sql, self._parameters = self._statement()
            self._sql = sql.replace("%s", "?")  # sqlite3's placeholder
        try:
            row = self._connection.execute(self._sql, self._parameters).fetchone()
        except sqlite3.Error:
            self._close()
            raise
        return row[0] if row else None

    async def _read_postgresql(self) -> str | None:
        import psycopg

        async with self._lock:  # one statement at a time on the connection
            if self._connection is None:
                parameters = connections[self.alias].get_connection_params()
                for blocking_only in ("cursor_factory", "context", "prepare_threshold"):
                    parameters.pop(blocking_only, None)
                self._connection = await psycopg.AsyncConnection.connect(
                    **parameters, autocommit=True
                )
                self._sql, self._parameters = self._statement()
            try:
                cursor = await self._connection.execute(self._sql, self._parameters)
                row = await cursor.fetchone()
            except psycopg.Error:
                await self._connection.close()
                self._connection = None
                raise
        return row[0] if row else None

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = None
