"""certificates/parsing.py: uploaded files are opened in helper processes, within a time limit."""

import io
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from certificates import parsing
from certificates.pfx import load_pfx
from certificates.upload_errors import CertificateError, UploadError
from tests import crafted_pfx, pki

PASSWORD = pki.DEFAULT_PASSWORD
LIMITS = parsing.Limits(seconds=1, helpers=2)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hostile(leaf):
    """2.5 KB: a protected key in an encrypted part, asking for 2^31-1 iterations (minutes)."""
    return crafted_pfx.make_pfx_with_key_in_encrypted_part(leaf, 2**31 - 1)


@pytest.fixture
def pool():
    pool = parsing._Pool()
    yield pool
    pool.close()


def test_it_opens_a_pfx_as_load_pfx_does(leaf, intermediate):
    data = pki.make_pfx(leaf, chain=[intermediate], friendly_name="orders")
    opened = parsing.open_pfx(data, PASSWORD, LIMITS)
    assert opened == load_pfx(data, PASSWORD)
    assert opened.certificate == leaf.certificate
    assert opened.chain == (intermediate.certificate,)
    assert opened.private_key.public_key() == leaf.key.public_key()
    assert (opened.key_description, opened.friendly_name) == ("RSA 2048", "orders")


def test_it_reads_a_public_certificate(root):
    opened = parsing.open_public_certificate(pki.certificate_pem(root), LIMITS)
    assert opened.certificate == root.certificate
    assert opened.self_signed
    assert opened.subject == "CN=Test Root CA,O=Certificate Portal Tests"


def test_refusals_keep_their_code_message_and_kind(leaf):
    with pytest.raises(UploadError) as caught:
        parsing.open_pfx(pki.make_pfx(leaf), "not it", LIMITS)
    assert caught.value.code == "wrong_password_or_damaged"
    assert "password is wrong" in caught.value.message
    with pytest.raises(CertificateError) as caught:
        parsing.open_public_certificate(pki.make_pfx(leaf), LIMITS)
    assert caught.value.code == "pfx"


def test_a_file_asking_for_too_much_work_is_refused_within_the_limit(hostile, leaf):
    assert len(hostile) < 3000
    parsing.open_pfx(pki.make_pfx(leaf), PASSWORD, LIMITS)  # a helper is ready
    started = time.monotonic()
    with pytest.raises(UploadError) as caught:
        parsing.open_pfx(hostile, PASSWORD, LIMITS)
    elapsed = time.monotonic() - started
    assert caught.value.code == "too_much_work"
    assert caught.value.message.startswith("This file asks for too much work to open")
    assert elapsed < LIMITS.seconds + 1.5
    # The helper was killed; the next file gets a new one.
    assert parsing.open_pfx(pki.make_pfx(leaf), PASSWORD, LIMITS).certificate == leaf.certificate


def test_the_helper_that_took_too_long_is_killed(hostile, pool):
    with pytest.raises(UploadError):
        pool.run(LIMITS, "pfx", hostile, PASSWORD)
    assert pool._started == 0
    assert not pool._idle


def test_the_cpu_limit_stops_a_helper_on_its_own(hostile):
    # Even when nobody waits for it (the server worker was killed), a helper stops. It runs at
    # a lower priority, so on a busy machine its second of CPU may take longer than a second.
    helper = parsing._Helper(parsing.multiprocessing.get_context("spawn"))
    try:
        assert helper.ask(pickle.dumps(("pfx", 1, (hostile, PASSWORD))), 60) is None
        helper.process.join(5)
        assert helper.process.exitcode == -signal.SIGXCPU
    finally:
        helper.stop()


def test_a_busy_pool_answers_quickly(hostile, leaf, pool):
    limits = parsing.Limits(seconds=3, helpers=1, wait_seconds=0.2)
    pool.run(limits, "pfx", pki.make_pfx(leaf), PASSWORD)  # the one helper is started
    refusals = []

    def hog():
        try:
            pool.run(limits, "pfx", hostile, PASSWORD)
        except UploadError as error:
            refusals.append(error.code)

    hogging = threading.Thread(target=hog)
    hogging.start()
    time.sleep(0.3)
    started = time.monotonic()
    with pytest.raises(UploadError) as caught:
        pool.run(limits, "pfx", pki.make_pfx(leaf), PASSWORD)
    assert caught.value.code == "busy"
    assert time.monotonic() - started < 1
    hogging.join()
    assert refusals == ["too_much_work"]
    assert pool.run(limits, "pfx", pki.make_pfx(leaf), PASSWORD).certificate == leaf.certificate


def test_several_files_at_once_each_get_a_helper(leaf, pool):
    limits = parsing.Limits(seconds=10, helpers=3, wait_seconds=10)
    results = []
    data = pki.make_pfx(leaf)
    threads = [
        threading.Thread(target=lambda: results.append(pool.run(limits, "pfx", data, PASSWORD)))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [item.certificate for item in results] == [leaf.certificate] * 6
    assert pool._started <= 3


def test_the_answer_is_read_without_building_anything_else():
    answer = pickle.dumps(("ok", os.getcwd))
    with pytest.raises(pickle.UnpicklingError):
        parsing._Reply(io.BytesIO(answer)).load()


def test_the_helper_never_imports_django():
    modules = ["certificates.parsing", "certificates.pfx", "certificates.upload_kinds"]
    check = (
        f"import sys, {', '.join(modules)}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    )
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", check],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip() == "[]"
