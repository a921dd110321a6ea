"""Open uploaded certificate files in helper processes, so that no file can hold a server worker.

The structure checks in pfx.py refuse a file that asks for a forged amount of key derivation in
its visible parts, but what an encrypted part asks for is known only once it is decrypted: a
2.5 KB file can ask OpenSSL for 2^31-1 iterations there, which is many minutes of work. So the
server never opens an uploaded file itself. open_pfx() and open_public_certificate() hand it to
a helper process and wait at most `Limits.seconds`; a helper that has not answered by then (or
was stopped by its own CPU-time limit) is killed, replaced by a new one on the next upload, and
the upload is refused with the code "too_much_work".

The helpers are started with multiprocessing's "spawn" (a fresh interpreter: nothing is forked
from a threaded server worker), lazily, at most `Limits.helpers` per server process, and are
reused from one file to the next, so an upload pays neither an interpreter start nor an import.
They import this module, pfx.py, upload_kinds.py, facts.py and cryptography, never Django. When
every helper is busy an upload waits at most `Limits.wait_seconds` for one, then is refused with
the code "busy".

The file and its password cross a pipe in memory: nothing is written to disk, logged or kept in
the helper after its answer, and a helper cannot write a core dump. What comes back is plain data
(the certificate's facts and DER, the key as unencrypted PKCS#8 DER for the caller to encrypt at
once), read with an unpickler that builds nothing else.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import math
import multiprocessing
import os
import pickle
import resource
import signal
import threading
import time
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certificates.facts import CertificateFacts, describe_certificate
from certificates.pfx import ParsedPfx, load_pfx
from certificates.upload_errors import CertificateError, UploadError
from certificates.upload_kinds import load_public_certificate, require_certificate_authority

TOO_MUCH_WORK = (
    "This file asks for too much work to open (more than {seconds}), so it was not opened and "
    "nothing was stored. Export it again with standard settings."
)
BUSY = (
    "The portal is opening other certificate files right now. Nothing was stored; try again in "
    "a moment."
)
# A new helper imports cryptography before it answers; a generous bound for a loaded machine.
_START_SECONDS = 30
_PR_SET_DUMPABLE = 4


@dataclass(frozen=True)
class Limits:
    seconds: int  # wall clock for one file, and the helper's CPU time for it
    helpers: int  # helper processes per server process
    wait_seconds: float = 1.0  # for a free helper, when all are busy


@dataclass(frozen=True)
class PublicCertificate(CertificateFacts):
    """A public certificate (a CA's) that was read and described in a helper process."""

    certificate_bytes: bytes  # DER

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.certificate_bytes)


def open_pfx(data: bytes, password: str, limits: Limits) -> ParsedPfx:
    """load_pfx(data, password) in a helper; raise UploadError when it refuses the file, takes
    too long ("too_much_work") or no helper is free ("busy")."""
    return _pool().run(limits, "pfx", bytes(data), password)


def open_public_certificate(data: bytes, limits: Limits) -> PublicCertificate:
    """A public certificate (PEM or DER) read and described in a helper; raise UploadError
    (CertificateError) as open_pfx does."""
    return _pool().run(limits, "certificate", bytes(data))


# In the helper process -----------------------------------------------------------------------


def _read_public_certificate(data: bytes) -> PublicCertificate:
    certificate = load_public_certificate(data)
    require_certificate_authority(certificate)
    return PublicCertificate(
        **vars(describe_certificate(certificate)),
        certificate_bytes=certificate.public_bytes(serialization.Encoding.DER),
    )


_TASKS = {"pfx": load_pfx, "certificate": _read_public_certificate}


def _serve(connection) -> None:
    """The helper's loop: one file at a time, each with a CPU-time limit, until the pipe closes."""
    _forbid_core_dumps()
    signal.signal(signal.SIGXCPU, signal.SIG_DFL)  # the CPU limit ends the process
    os.nice(10)  # a file being opened yields the processor to the server's requests
    connection.send_bytes(b"ready")
    while True:
        try:
            request = connection.recv_bytes()
        except (EOFError, OSError):  # the server process is gone
            return
        task, cpu_seconds, args = pickle.loads(request)  # noqa: S301 - from our own parent
        del request
        _limit_cpu(cpu_seconds)
        try:
            reply = ("ok", _TASKS[task](*args))
        except UploadError as error:
            kind = "certificate" if isinstance(error, CertificateError) else "upload"
            reply = ("refused", kind, error.code, error.message)
        except Exception as error:  # a bug: the server answers 500, without the file's content
            reply = ("failed", type(error).__name__)
        del args  # the file and its password
        connection.send_bytes(pickle.dumps(reply))


def _limit_cpu(seconds: int) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = math.ceil(usage.ru_utime + usage.ru_stime)
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    limit = used + seconds
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (limit, hard))


def _forbid_core_dumps() -> None:
    # A helper stopped by its CPU limit would otherwise dump its memory, the password with it.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with contextlib.suppress(OSError, AttributeError):  # Linux only; RLIMIT_CORE covers the rest
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)


# In the server process -----------------------------------------------------------------------


class _Reply(pickle.Unpickler):
    """Builds only what a helper answers with."""

    ALLOWED = {
        ("certificates.pfx", "ParsedPfx"),
        ("certificates.parsing", "PublicCertificate"),
        ("datetime", "datetime"),
        ("datetime", "timezone"),
        ("datetime", "timedelta"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"unexpected {module}.{name} from a parsing helper")
        return super().find_class(module, name)


class _Helper:
    def __init__(self, context):
        self.connection, child_end = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(child_end,), name="upload-parser", daemon=True
        )
        self.process.start()
        child_end.close()
        try:
            ready = self.connection.poll(_START_SECONDS) and self.connection.recv_bytes()
        except (EOFError, OSError):
            ready = False
        if ready != b"ready":
            self.stop()
            raise RuntimeError("a file-parsing helper process did not start")

    def ask(self, request: bytes, seconds: float) -> bytes | None:
        """The helper's answer, or None when it took too long or died (its CPU limit)."""
        try:
            self.connection.send_bytes(request)
            if not self.connection.poll(seconds):
                return None
            return self.connection.recv_bytes()
        except (EOFError, OSError):
            return None

    def stop(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.connection.close()


class _Pool:
    def __init__(self):
        self._context = multiprocessing.get_context("spawn")
        self._changed = threading.Condition()
        self._idle: list[_Helper] = []
        self._started = 0  # helpers idle or busy

    def run(self, limits: Limits, task: str, *args):
        helper = self._take(limits)
        request = pickle.dumps((task, limits.seconds, args))
        del args
        try:
            answer = helper.ask(request, limits.seconds)
        except BaseException:  # interrupted while waiting: the helper may still be busy
            self._discard(helper)
            raise
        del request
        if answer is None:
            self._discard(helper)
            seconds = f"{limits.seconds} second{'s' if limits.seconds != 1 else ''}"
            raise UploadError("too_much_work", TOO_MUCH_WORK.format(seconds=seconds))
        self._give_back(helper)
        return _result(_Reply(io.BytesIO(answer)).load())

    def _take(self, limits: Limits) -> _Helper:
        deadline = time.monotonic() + limits.wait_seconds
        with self._changed:
            while True:
                while self._idle:
                    helper = self._idle.pop()
                    if helper.process.is_alive():
                        return helper
                    helper.stop()  # it died while idle
                    self._started -= 1
                if self._started < limits.helpers:
                    self._started += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise UploadError("busy", BUSY)
                self._changed.wait(remaining)
        try:
            return _Helper(self._context)  # outside the lock: starting takes a moment
        except BaseException:
            with self._changed:
                self._started -= 1
                self._changed.notify()
            raise

    def close(self) -> None:
        """Stop the idle helpers (busy ones are stopped by whoever waits for them)."""
        with self._changed:
            idle, self._idle = self._idle, []
            self._started -= len(idle)
        for helper in idle:
            helper.stop()

    def _give_back(self, helper: _Helper) -> None:
        with self._changed:
            self._idle.append(helper)
            self._changed.notify()

    def _discard(self, helper: _Helper) -> None:
        helper.stop()
        with self._changed:
            self._started -= 1
            self._changed.notify()


def _result(reply: tuple):
    status, *rest = reply
    if status == "ok":
        return rest[0]
    if status == "refused":
        kind, code, message = rest
        raise (CertificateError if kind == "certificate" else UploadError)(code, message)
    raise RuntimeError(f"opening an uploaded file failed in its helper process: {rest[0]}")


_pools: dict[int, _Pool] = {}
_pools_lock = threading.Lock()


def _pool() -> _Pool:
    """This server process's pool, made on first use (a process forked later gets its own)."""
    pid = os.getpid()
    with _pools_lock:
        pool = _pools.get(pid)
        if pool is None:
            pool = _pools[pid] = _Pool()
        return pool
