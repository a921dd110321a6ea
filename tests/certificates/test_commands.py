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
