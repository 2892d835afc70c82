"""What DATABASE_URL says: which driver, which connect arguments, and what is refused (a
backend supportbot does not support, a parameter it would not pass on, a SQLite desk that
would live only in memory), each naming DATABASE_URL. Also why a connection failed, in words
that say what to check."""

from __future__ import annotations

import errno
import socket
import ssl
from pathlib import Path
from typing import Any

from sqlalchemy import make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError

from bot.config_errors import ConfigError


def resolve_url(url: str) -> URL:
    """Pick the driver: the standard sqlite3 module, or asyncpg for PostgreSQL. A URL that
    cannot be used as written is refused, naming DATABASE_URL."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise ConfigError(
            "DATABASE_URL",
            f"{_hidden(url)!r} is not a database URL; "
            "use sqlite:///supportbot.db or postgresql://user@host:5432/dbname",
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite")
    if backend in ("postgresql", "postgres"):
        resolved = parsed.set(drivername="postgresql+asyncpg")
        postgres_connect_args(resolved)  # refuses what it cannot pass on, now
        return resolved
    raise ConfigError(
        "DATABASE_URL",
        f"{backend!r} is not supported; use sqlite:///supportbot.db or "
        "postgresql://user@host:5432/dbname",
    )


def check_configured_url(url: str) -> None:
    """DATABASE_URL as an operator sets it: besides what resolve_url refuses, a SQLite
    database in memory, which would lose every ticket when the process ends."""
    resolved = resolve_url(url)
    if resolved.get_backend_name() == "sqlite" and in_memory(resolved):
        raise ConfigError(
            "DATABASE_URL",
            f"{url!r} names no file, so SQLite would keep the desk in memory and lose every "
            "ticket when supportbot stops; name a file, like sqlite:///supportbot.db",
        )


def _hidden(url: str) -> str:
    """A URL that SQLAlchemy cannot read, without who and what password may be in it:
    everything between the scheme and the last @ (a password may hold / and @ itself)."""
    scheme, colon, rest = url.partition(":")
    if "@" not in rest:
        return url
    slashes = rest[: len(rest) - len(rest.lstrip("/"))]
    return f"{scheme}{colon}{slashes}***@{rest.rpartition('@')[2]}"


# libpq's parameters in a PostgreSQL URL that are handed to asyncpg as connect arguments
LIBPQ_PARAMETERS = ("sslmode", "ssl", "sslrootcert", "connect_timeout")
# left in the URL for SQLAlchemy: several hosts (?host=a:5432&host=b:5432)
_SQLALCHEMY_PARAMETERS = ("host",)
_SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def postgres_connect_args(url: URL) -> dict[str, Any]:
    """asyncpg's connect() arguments for libpq's parameters in a PostgreSQL URL, as hosted
    PostgreSQL services give them: sslmode (or SQLAlchemy's ssl) with sslrootcert becomes
    `ssl`, connect_timeout `timeout`. Any other parameter is refused by name."""
    query: dict[str, str] = {}
    for name, value in url.query.items():
        if name in _SQLALCHEMY_PARAMETERS:
            continue
        if not isinstance(value, str):
            raise ConfigError("DATABASE_URL", f"the parameter {name} is given more than once")
        query[name] = value
    if "application_name" in query:
        raise ConfigError(
            "DATABASE_URL",
            "application_name cannot be set: supportbot names each of its connections "
            "(supportbot host:pid), which is how `supportbot check` and pg_stat_activity tell "
            "its processes apart; leave the parameter out",
        )
    for name in sorted(set(query) - set(LIBPQ_PARAMETERS)):
        raise ConfigError(
            "DATABASE_URL",
            f"the parameter {name} is not one supportbot understands; it understands "
            "sslmode, sslrootcert and connect_timeout",
        )
    if "sslmode" in query and "ssl" in query:
        raise ConfigError("DATABASE_URL", "give sslmode or ssl, not both")
    args: dict[str, Any] = {}
    if "connect_timeout" in query:
        args["timeout"] = _connect_timeout(query["connect_timeout"])
    written = "sslmode" if "sslmode" in query else "ssl"
    ssl_arg = _ssl(written, query.get(written), query.get("sslrootcert"))
    if ssl_arg is not None:
        args["ssl"] = ssl_arg
    return args


def _connect_timeout(text: str) -> float:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise ConfigError(
            "DATABASE_URL",
            f"connect_timeout={text!r} must be a whole number of seconds from 1, like "
            "connect_timeout=10",
        )
    return float(text)


def _ssl(
    written: str, mode: str | None, root_certificate: str | None
) -> str | ssl.SSLContext | None:
    """As libpq has it: the server's certificate is checked against sslrootcert from
    sslmode=require up (require then works as verify-ca), and verify-full checks the host
    name as well; sslrootcert=system trusts this machine's certificate authorities."""
    if mode is not None and mode not in _SSL_MODES:
        modes = ", ".join(_SSL_MODES)
        raise ConfigError("DATABASE_URL", f"{written}={mode!r} is not one of {modes}")
    if root_certificate is None:
        return mode  # asyncpg reads a mode as libpq does (~/.postgresql/root.crt included)
    if root_certificate == "system":
        if mode not in (None, "verify-full"):
            raise ConfigError(
                "DATABASE_URL", f"sslrootcert=system needs sslmode=verify-full, not {mode}"
            )
        return ssl.create_default_context()
    if mode in (None, "disable", "allow", "prefer"):
        return mode  # libpq checks no certificate below require, whatever sslrootcert says
    path = Path(root_certificate).expanduser()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = mode == "verify-full"
    try:
        context.load_verify_locations(cafile=str(path))
    except (OSError, ssl.SSLError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise ConfigError(
            "DATABASE_URL", f"sslrootcert={root_certificate!r} cannot be read: {reason}"
        ) from None
    return context


def why_not(error: BaseException, url: URL) -> str:
    """Why a connection failed, in words that say what to check."""
    detail = str(getattr(error, "orig", None) or error).strip()
    detail = detail.splitlines()[0] if detail else type(error).__name__
    if url.get_backend_name() != "postgresql":
        return detail
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    if isinstance(error, ConnectionRefusedError) or f"[Errno {errno.ECONNREFUSED}]" in detail:
        return (
            f"nothing accepts connections at {where} (connection refused); check that "
            "PostgreSQL runs on that host and listens on that port (listen_addresses and "
            "port in postgresql.conf) and that no firewall is in the way"
        )
    if isinstance(error, socket.gaierror):
        return (
            f"the host name {url.host!r} is not known ({detail}); check the host in "
            "DATABASE_URL and this machine's DNS"
        )
    if isinstance(error, TimeoutError):
        return (
            f"no answer from {where} in time; check the host and port in DATABASE_URL and any "
            "firewall in between (connect_timeout=N sets how long to wait)"
        )
    return detail


def in_memory(url: URL) -> bool:
    return not url.database or url.database == ":memory:"
