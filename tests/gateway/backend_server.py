"""Real HTTPS back ends on 127.0.0.1 for the gateway's TLS tests.

A BackendServer serves in a background thread and answers every request with a JSON echo of what
it received, the client certificate included. It counts accepted connections and completed TLS
handshakes, so that a test can tell a reused keep-alive connection from a new one and a refused
call from one that never left the gateway.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import ssl
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509

from tests.pki import Leaf, certificate_pem, write_pem_files

HOST = "127.0.0.1"


class BackendServer:
    """An HTTPS server; use it as a context manager.

    certificate, chain: what the server presents. client_cas: the CAs whose client certificates
    it accepts. require_client_certificate: refuse a handshake without one. tls_version: pin the
    protocol version (ssl.TLSVersion.TLSv1_2 or TLSv1_3). delay: seconds to wait before answering.
    """

    def __init__(
        self,
        directory: Path,
        certificate: Leaf,
        *,
        chain: Iterable = (),
        client_cas: Iterable = (),
        require_client_certificate: bool = True,
        tls_version: ssl.TLSVersion | None = None,
        delay: float = 0,
    ):
        self.delay = delay
        self.connections = 0
        self.handshakes = 0
        self.handshake_errors: list[Exception] = []
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._open: set[ssl.SSLSocket] = set()
        self._stopping = threading.Event()
        self._context = self._server_context(
            directory, certificate, chain, client_cas, require_client_certificate, tls_version
        )
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @staticmethod
    def _server_context(directory, certificate, chain, client_cas, required, tls_version):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        files = write_pem_files(directory, certificate, chain, name="server")
        context.load_cert_chain(files.fullchain, files.key)
        cadata = "".join(certificate_pem(ca).decode() for ca in client_cas)
        if cadata:
            context.load_verify_locations(cadata=cadata)
            context.verify_mode = ssl.CERT_REQUIRED if required else ssl.CERT_OPTIONAL
        elif required:
            raise ValueError("a server that requires client certificates needs client_cas")
        if tls_version:
            context.minimum_version = context.maximum_version = tls_version
        return context

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}"

    def start(self) -> BackendServer:
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        # Idle keep-alive connections block their handler threads in a read: end them, then
        # server_close joins every handler thread.
        with self._lock:
            for connection in self._open:
                # The plain socket's shutdown: SSLSocket.shutdown would also drop its TLS state
                # under the thread that is reading.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(connection, socket.SHUT_RDWR)
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> BackendServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _serve_connection(self, request: socket.socket, client_address) -> None:
        request.settimeout(5)
        with self._lock:
            self.connections += 1
        try:
            connection = self._context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            with self._lock:
                self.handshake_errors.append(exc)
            return
        with self._lock:
            self.handshakes += 1
            self._open.add(connection)
        try:
            _EchoHandler(connection, client_address, self._server)
        except OSError:
            pass  # the client went away
        finally:
            with self._lock:
                self._open.discard(connection)
            connection.close()

    def _record(self, echo: dict) -> None:
        with self._lock:
            self.requests.append(echo)


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close joins the handler threads: a clean shutdown

    def __init__(self, backend: BackendServer):
        self.backend = backend
        super().__init__((HOST, 0), _EchoHandler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's own thread, not in the accept loop.
        self.backend._serve_connection(request, client_address)


class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    # The status line and headers go out in one write and the body in another: with Nagle's
    # algorithm on, the body waits for the client's delayed ACK (40 ms on Linux) on every
    # keep-alive request after the first. Real servers switch it off; so does this one.
    disable_nagle_algorithm = True
    server: _Server

    def _echo(self):
        backend = self.server.backend
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        echo = {
            "method": self.command,
            "path": url.path,
            "query": parse_qs(url.query),
            "headers": {name.lower(): value for name, value in self.headers.items()},
            "body": body.decode(errors="replace"),
            "client_certificate": _describe(self.connection.getpeercert(binary_form=True)),
        }
        backend._record(echo)
        if backend.delay and backend._stopping.wait(backend.delay):
            return
        payload = json.dumps(echo).encode()
        # ?short-body=1: promise more bytes than are sent, then hang up.
        missing = 100 if echo["query"].get("short-body") else 0
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload) + missing))
        for cookie in echo["query"].get("set-cookie", []):  # a back end with its own session
            self.send_header("Set-Cookie", cookie)
        self.end_headers()
        self.wfile.write(payload)
        if missing:
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _echo

    def log_message(self, format, *args):
        pass


def _describe(der: bytes | None) -> dict | None:
    if not der:
        return None
    certificate = x509.load_der_x509_certificate(der)
    return {
        "subject": certificate.subject.rfc4514_string(),
        "thumbprint": hashlib.sha1(der).hexdigest().upper(),
    }


def refused_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class RawBackend:
    """A plain-HTTP back end on 127.0.0.1 that records the exact bytes of each request (request
    line, headers and body as they arrived) and gives every one the same answer (by default 200
    with `ok`). Keeps connections alive.
    """

    def __init__(self, answer: bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"):
        self.answer = answer
        self.received: list[bytes] = []
        self._listener = socket.create_server((HOST, 0))
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._accepting = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._listener.getsockname()[1]}"

    def start(self) -> RawBackend:
        self._accepting.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        connection.settimeout(5)
        buffered = b""
        with connection:
            while True:
                try:
                    request, buffered = _read_request(connection, buffered)
                except (OSError, ValueError):
                    return
                if request is None:
                    return
                self.received.append(request)
                connection.sendall(self.answer)


def _read_request(connection: socket.socket, buffered: bytes) -> tuple[bytes | None, bytes]:
    while b"\r\n\r\n" not in buffered:
        chunk = connection.recv(65536)
        if not chunk:
            return None, b""
        buffered += chunk
    head, _, rest = buffered.partition(b"\r\n\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(b":") for line in head.split(b"\r\n")[1:])
    }
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        while not rest.endswith(b"0\r\n\r\n"):
            rest += connection.recv(65536)
        length = len(rest)
    else:
        length = int(headers.get(b"content-length", b"0"))
        while len(rest) < length:
            chunk = connection.recv(65536)
            if not chunk:
                raise ValueError("the body was cut short")
            rest += chunk
    return head + b"\r\n\r\n" + rest[:length], rest[length:]
