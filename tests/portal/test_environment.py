import os

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.environment import envbool, envint, envlist, envproxies, envsecret, private_file


@pytest.fixture
def env(monkeypatch):
    def set_env(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_env


def test_envbool_reads_words(env):
    env(A="yes", B="off")
    assert envbool("A", False) is True
    assert envbool("B", True) is False
    assert envbool("MISSING_VARIABLE", True) is True


def test_envbool_rejects_other_words(env):
    env(A="maybe")
    with pytest.raises(ImproperlyConfigured, match="A must be true or false"):
        envbool("A", False)


def test_envint_checks_numbers_and_minimum(env):
    env(N="12", BAD="twelve", LOW="0")
    assert envint("N", 1) == 12
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        envint("BAD", 1)
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        envint("LOW", 5, minimum=1)


def test_envlist_splits_on_commas(env):
    env(HOSTS=" a.example , b.example,,")
    assert envlist("HOSTS", "") == ["a.example", "b.example"]


def test_envsecret_reads_a_file(env, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    env(TOKEN_FILE=str(secret))
    assert envsecret("TOKEN") == "s3cret"


def test_envsecret_refuses_both_forms(env, tmp_path):
    env(TOKEN="a", TOKEN_FILE=str(tmp_path / "x"))
    with pytest.raises(ImproperlyConfigured, match="not both"):
        envsecret("TOKEN")


def test_envsecret_refuses_a_missing_file(env, tmp_path):
    env(TOKEN_FILE=str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        envsecret("TOKEN")


def test_private_file_is_created_once_with_mode_0600(tmp_path):
    path = tmp_path / "data" / "key"
    first = private_file(path, lambda: "generated")
    second = private_file(path, lambda: "other")
    assert first == second == "generated"
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_envproxies_trusts_none_by_default_and_names_the_variable(env):
    assert envproxies("MISSING_VARIABLE").client_address("10.0.0.2", "203.0.113.5") == "10.0.0.2"
    env(P="1", BAD="the load balancer")
    assert envproxies("P").count == 1
    with pytest.raises(ImproperlyConfigured, match="BAD must be a number of proxies or"):
        envproxies("BAD")
