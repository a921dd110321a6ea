"""The gateway's server for tests: the real ASGI application under uvicorn on 127.0.0.1, in a
thread of the test process (so that settings and monkeypatches apply), or the whole
`scripts/serve` in processes of their own.

The server reads the database from its own threads: tests that use it need `transactional_db`.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import httpx
import uvicorn

from gateway.server import Gateway

HOST = "127.0.0.1"


class GatewayServer:
    def __init__(self):
        self.app = Gateway()
        self._socket = socket.socket()
        self._socket.bind((HOST, 0))
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            host=HOST,
            port=self.port,
            loop="uvloop",
            http="httptools",
            lifespan="on",
            access_log=False,
            log_level="warning",
            server_header=False,
            date_header=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> GatewayServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the gateway's test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def client(self, token: str | None = None, **kwargs) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(
            base_url=self.url, headers=headers, timeout=30, trust_env=False, **kwargs
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def database_environment() -> dict[str, str]:
    """What a server process needs to use the tests' database (SQLite file or PostgreSQL)."""
    from django.db import connection

    settings = connection.settings_dict
    if settings["ENGINE"].endswith("sqlite3"):
        return {"SQLITE_PATH": str(settings["NAME"])}
    parts = urlsplit(os.environ["DATABASE_URL"])
    return {"DATABASE_URL": urlunsplit(parts._replace(path="/" + settings["NAME"]))}
