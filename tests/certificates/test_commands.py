import io

import pytest
from django.core.management import CommandError, call_command

from certificates.models import Certificate
from tests import pki

pytestmark = pytest.mark.django_db


@pytest.fixture
def pfx_path(tmp_path):
    def write(leaf, password=pki.DEFAULT_PASSWORD, name="client.pfx"):
        path = tmp_path / name
        path.write_bytes(pki.make_pfx(leaf, password))
        return path

    return write


def run_import(monkeypatch, path, password, *extra):
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    out = io.StringIO()
    call_command(
        "certificates",
        "import",
        "--id",
        "cli-cert",
        "--file",
        str(path),
        "--password-stdin",
        *extra,
        stdout=out,
        stderr=io.StringIO(),
    )
    return out.getvalue()


def test_it_imports_and_lists(monkeypatch, pfx_path, capsys):
    leaf = pki.make_leaf(pki.make_ca(), "cli.example.test")
    out = run_import(monkeypatch, pfx_path(leaf), pki.DEFAULT_PASSWORD)
    certificate = Certificate.objects.get(name="cli-cert")
    assert out.strip() == f"Imported cli-cert: {certificate.thumbprint}"
    listing = io.StringIO()
    call_command("certificates", "list", stdout=listing)
    assert listing.getvalue().startswith(f"cli-cert\t{certificate.thumbprint}\t")
    assert "used by 0" in listing.getvalue()


def test_it_gives_the_same_message_as_the_portal(monkeypatch, pfx_path):
    leaf = pki.make_leaf(pki.make_ca(), "cli.example.test")
    with pytest.raises(CommandError, match="password is wrong or the file is damaged"):
        run_import(monkeypatch, pfx_path(leaf), "wrong")
    assert not Certificate.objects.exists()


def test_it_replaces_only_when_asked(monkeypatch, pfx_path):
    ca = pki.make_ca()
    run_import(
        monkeypatch,
        pfx_path(pki.make_leaf(ca, "a.example.test"), name="a.pfx"),
        pki.DEFAULT_PASSWORD,
    )
    renewed = pfx_path(pki.make_leaf(ca, "b.example.test"), name="b.pfx")
    with pytest.raises(CommandError, match="--replace"):
        run_import(monkeypatch, renewed, pki.DEFAULT_PASSWORD)
    out = run_import(monkeypatch, renewed, pki.DEFAULT_PASSWORD, "--replace")
    assert out.startswith("Replaced cli-cert")
    assert "b.example.test" in Certificate.objects.get().subject


def test_it_refuses_a_bad_id_and_a_missing_file(monkeypatch, tmp_path):
    monkeypatch.setattr("sys.stdin", io.StringIO("x\n"))
    with pytest.raises(CommandError, match="--id"):
        call_command("certificates", "import", "--id", "bad id", "--file", "x", "--password-stdin")
    with pytest.raises(CommandError, match="No such file"):
        call_command(
            "certificates",
            "import",
            "--id",
            "ok",
            "--file",
            str(tmp_path / "none.pfx"),
            "--password-stdin",
        )


def run_expiring(*args, **options):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("certificates", "expiring", *args, stdout=out, stderr=err, **options)
    except SystemExit as exc:
        return exc.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_expiring_lists_what_expires_and_exits_1():
    from datetime import timedelta

    from django.utils import timezone

    from tests.certificates.factories import fake_certificate, use_in_api, use_in_backend

    now = timezone.now()
    Certificate.objects.bulk_create(
        [
            fake_certificate(1, name="gone", not_after=now - timedelta(days=2, hours=1)),
            fake_certificate(2, name="soon", not_after=now + timedelta(days=5, hours=1)),
            fake_certificate(3, name="later", not_after=now + timedelta(days=90)),
        ]
    )
    soon = Certificate.objects.get(name="soon")
    use_in_api(soon)
    use_in_backend(soon)
    code, out, _ = run_expiring("--within-days", "30")
    assert code == 1
    lines = out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["gone", "soon"]
    assert lines[1] == (
        f"soon\t{soon.thumbprint}\t{soon.not_after:%Y-%m-%dT%H:%M:%SZ}\t5 days left\t"
        "used by API Orders, Backend orders-backend"
    )
    assert lines[0].endswith("\tEXPIRED 2 days ago\tused by nothing")


def test_expiring_is_silent_and_exits_0_when_nothing_expires():
    from tests.certificates.factories import fake_certificates

    fake_certificates(1)  # expires in a day
    code, out, _ = run_expiring("--within-days", "0")
    assert (code, out) == (0, "")
    code, _, err = run_expiring("--within-days", "0", verbosity=2)
    assert code == 0
    assert "No certificate expires within 0 days." in err


def test_expiring_refuses_a_negative_number_of_days():
    with pytest.raises(CommandError, match="--within-days must be 0 or more") as caught:
        call_command("certificates", "expiring", "--within-days", "-3")
    assert caught.value.returncode == 2
    with pytest.raises(CommandError, match="invalid int value"):
        call_command("certificates", "expiring", "--within-days", "soon")


def test_expiring_exit_codes_from_the_shell(tmp_path):
    """The real process, as cron and monitoring run it: 0, then 1 once something expires."""
    import datetime as dt
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PORTAL_DATA_DIR": str(tmp_path)}
    # A database and key ring of its own (SQLite in tmp_path), never the PostgreSQL database
    # the suite may run on, which other processes share.
    for name in ("DJANGO_ALLOW_ASYNC_UNSAFE", "DATABASE_URL", "PORTAL_KEYRING"):
        env.pop(name, None)

    def manage(*args, stdin=None):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=root,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert manage("migrate", "--verbosity", "0").returncode == 0
    assert manage("certificates", "expiring", "--within-days", "30").returncode == 0
    refused = manage("certificates", "expiring", "--within-days", "-1")
    assert refused.returncode == 2
    assert "--within-days must be 0 or more" in refused.stderr

    now = dt.datetime.now(dt.UTC)
    leaf = pki.make_leaf(pki.make_ca(), "cron.example.test", not_after=now + dt.timedelta(days=9))
    pfx = tmp_path / "cron.pfx"
    pfx.write_bytes(pki.make_pfx(leaf))
    imported = manage(
        "certificates",
        "import",
        "--id",
        "cron-cert",
        "--file",
        str(pfx),
        "--password-stdin",
        stdin=pki.DEFAULT_PASSWORD + "\n",
    )
    assert imported.returncode == 0, imported.stderr
    found = manage("certificates", "expiring", "--within-days", "30")
    assert found.returncode == 1
    assert found.stdout.startswith("cron-cert\t")
    assert "days left\tused by nothing" in found.stdout
