"""DATABASE_URL as operators write it: libpq's parameters mapped to asyncpg's connect
arguments or refused by name, SQLite in memory refused, and failures explained."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest
from sqlalchemy import make_url

from bot.config_errors import ConfigError
from storage.database_url import check_configured_url, postgres_connect_args, why_not
from storage.engine import Database

# a certificate authority's public certificate, only ever loaded, never trusted for anything
TEST_CA = """\
-----BEGIN CERTIFICATE-----
MIIBkTCCATegAwIBAgIUf23tTUKA2hg6lN191lMg50TCaRIwCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSc3VwcG9ydGJvdCB0ZXN0IENBMCAXDTI2MTIwNzA3NTEyNloY
DzIxMjYxMTEzMDc1MTI2WjAdMRswGQYDVQQDDBJzdXBwb3J0Ym90IHRlc3QgQ0Ew
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASRwwWfUDhHPvz9Wf0yzmdX54yL819+
7ipFFx107szykbnZhEReFC/pWMPBLnVXIpzerqevJuG/zemHnKuW5YPXo1MwUTAd
BgNVHQ4EFgQUaFi7/kl5UEr0v0FTrfvN8VS6RXUwHwYDVR0jBBgwFoAUaFi7/kl5
UEr0v0FTrfvN8VS6RXUwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBF
AiBb8CZQECzT4xtYnPO8dik4SWpOdEQ5shuG3wqzop3sFQIhAJ6/yCwQl4fIClHJ
vJo5mSgHD3KMsurOK++eTcVx1a/d
-----END CERTIFICATE-----
"""
BASE = "postgresql://app:s3cret@db.example.com:5432/desk"


def args(query: str) -> dict[str, object]:
    return postgres_connect_args(make_url(f"{BASE}?{query}"))


def test_libpq_parameters_become_asyncpg_connect_arguments() -> None:
    assert args("sslmode=require") == {"ssl": "require"}
    assert args("sslmode=disable&connect_timeout=7") == {"ssl": "disable", "timeout": 7.0}
    assert args("ssl=verify-full") == {"ssl": "verify-full"}  # SQLAlchemy's own spelling
    assert args("host=a:5432&host=b:5432") == {}  # several hosts: SQLAlchemy's to read
    assert postgres_connect_args(make_url(BASE)) == {}


def test_a_root_certificate_is_checked_from_require_up(tmp_path: Path) -> None:
    ca = tmp_path / "root.crt"
    ca.write_text(TEST_CA)
    full = args(f"sslmode=verify-full&sslrootcert={ca}")["ssl"]
    assert isinstance(full, ssl.SSLContext)
    assert full.check_hostname
    assert full.verify_mode == ssl.CERT_REQUIRED
    assert full.cert_store_stats()["x509_ca"] == 1
    # as libpq: require with a root certificate is verify-ca (the host name is not checked)
    for mode in ("require", "verify-ca"):
        context = args(f"sslmode={mode}&sslrootcert={ca}")["ssl"]
        assert isinstance(context, ssl.SSLContext)
        assert not context.check_hostname
        assert context.verify_mode == ssl.CERT_REQUIRED
    assert args(f"sslmode=prefer&sslrootcert={ca}") == {"ssl": "prefer"}  # libpq checks nothing
    system = args("sslrootcert=system")["ssl"]
    assert isinstance(system, ssl.SSLContext)
    assert system.check_hostname


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("application_name=desk", "application_name cannot be set: supportbot names each"),
        ("sslcert=/x.crt", "the parameter sslcert is not one supportbot understands"),
        ("sslmode=sometimes", "sslmode='sometimes' is not one of disable, allow, prefer"),
        ("ssl=true", "ssl='true' is not one of disable, allow, prefer"),  # as written
        ("sslmode=require&ssl=require", "give sslmode or ssl, not both"),
        ("connect_timeout=soon", "connect_timeout='soon' must be a whole number of seconds"),
        ("connect_timeout=0", "from 1, like connect_timeout=10"),
        ("sslmode=verify-ca&sslrootcert=/nowhere/root.crt", "'/nowhere/root.crt' cannot be read"),
        ("sslmode=require&sslrootcert=system", "sslrootcert=system needs sslmode=verify-full"),
        ("sslmode=require&sslmode=disable", "the parameter sslmode is given more than once"),
    ],
)
def test_parameters_that_cannot_be_passed_on_are_refused_by_name(query: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Database(f"{BASE}?{query}")
    assert caught.value.variable == "DATABASE_URL"
    assert words in caught.value.problem
    assert "s3cret" not in str(caught.value)


def test_the_engine_connects_with_the_mapped_arguments_and_keeps_the_url() -> None:
    database = Database(f"{BASE}?sslmode=require&connect_timeout=3")
    # a Database made again from the URL (the rates ledger does) connects the same way
    assert database.url.query == {"sslmode": "require", "connect_timeout": "3"}
    engine_url = database.sync_engine.url
    assert dict(engine_url.query) == {}
    assert "***" in database.description
    assert "s3cret" not in database.description


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite://", "sqlite:///:memory:"])
def test_a_desk_in_memory_is_refused_with_the_reason(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_configured_url(url)
    assert "lose every ticket when supportbot stops" in caught.value.problem
    check_configured_url("sqlite:///desk.db")  # a file is fine


def test_other_databases_and_unreadable_urls_are_configuration_errors() -> None:
    with pytest.raises(ConfigError) as caught:
        check_configured_url("mysql://root:hunter2@localhost/desk")
    assert caught.value.problem.startswith("'mysql' is not supported; use sqlite:///")
    for unreadable in (
        "postgres ql://root:hunter2@localhost/desk",
        "postgresql://root:hunter2@localhost:abc/desk",  # a port that is not a number
        "postgresql:/root:hunter2@localhost/desk",  # one slash short
        "postgres ql://root:hun/ter@2@localhost/desk",  # a password with / and @ in it
    ):
        with pytest.raises(ConfigError) as caught:
            check_configured_url(unreadable)
        assert "is not a database URL" in caught.value.problem
        assert "hunter" not in str(caught.value)
        assert "ter@2" not in str(caught.value)


def test_a_failed_connection_says_where_and_what_to_check() -> None:
    url = make_url("postgresql+asyncpg://app@10.0.0.5:6543/desk")
    refused = why_not(ConnectionRefusedError(111, "Connect call failed ('10.0.0.5', 6543)"), url)
    assert refused.startswith("nothing accepts connections at 10.0.0.5:6543 (connection refused)")
    assert "listens on that port" in refused
    assert "firewall" in refused
    # several addresses (localhost's ::1 and 127.0.0.1): one OSError naming both
    both = OSError("Multiple exceptions: [Errno 111] Connect call failed ('::1', 5432)")
    assert "connection refused" in why_not(both, make_url("postgresql+asyncpg://app@localhost/d"))
    unknown = why_not(socket.gaierror(-2, "Name or service not known"), url)
    assert "the host name '10.0.0.5' is not known" in unknown
    assert "no answer from 10.0.0.5:6543 in time" in why_not(TimeoutError(), url)
    sqlite = make_url("sqlite+pysqlite:///desk.db")
    assert why_not(OSError("disk I/O error"), sqlite) == "disk I/O error"
