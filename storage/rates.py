"""The platforms' limits, shared by every process on one PostgreSQL database.

A staff channel takes one post a second whichever process posts, so processes sharing a
database take their turns on such a route from one ledger: a row per route saying when its
token bucket is full again (`full_at`). Taking a turn moves that moment one interval on
(from now, if it lay in the past) and waits until the bucket has a token for it: the
generic cell rate algorithm, one statement, timed by the database's clock so that processes
on different hosts agree. A Retry-After moves `full_at` on so that no turn comes before it.

On SQLite there is one process (run_lock): nothing to share."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from storage.engine import Database

# a post waits no longer than this for its turn to be told; then the process paces alone
PATIENCE = 1.0  # seconds
_INTERVAL = "make_interval(secs => CAST(:interval AS double precision))"
_AHEAD = "make_interval(secs => CAST(:ahead AS double precision))"

# returns seconds from now until the bucket is full again, after this turn
_RESERVE = text(
    "INSERT INTO rate_turns AS r (route, full_at) "
    f"VALUES (:route, clock_timestamp() + {_INTERVAL}) "
    "ON CONFLICT (route) DO UPDATE "
    f"SET full_at = GREATEST(r.full_at, clock_timestamp()) + {_INTERVAL} "
    "RETURNING EXTRACT(EPOCH FROM (r.full_at - clock_timestamp()))"
)
_HOLD = text(
    "INSERT INTO rate_turns AS r (route, full_at) "
    f"VALUES (:route, clock_timestamp() + {_AHEAD}) "
    "ON CONFLICT (route) DO UPDATE "
    f"SET full_at = GREATEST(r.full_at, clock_timestamp() + {_AHEAD})"
)


class DatabaseRates:  # a SharedRates
    def __init__(self, database: Database, patience: float = PATIENCE) -> None:
        self.database = database
        self.patience = patience

    async def close(self) -> None:
        await self.database.dispose()

    async def reserve(self, key: str, per_second: float, burst: int) -> float:
        interval = 1.0 / per_second
        async with asyncio.timeout(self.patience), self.database.begin() as conn:
            rows = await conn.execute(_RESERVE, {"route": key, "interval": interval})
            full_in = float(rows.scalar_one())
        # a turn comes when the bucket holds a token: `burst` intervals before it is full
        return max(0.0, full_in - burst * interval)

    async def hold(self, key: str, seconds: float, burst: int, per_second: float) -> None:
        # the next turn comes `burst` intervals before full, one interval after this moment
        ahead = seconds + (burst - 1) / per_second
        async with asyncio.timeout(self.patience), self.database.begin() as conn:
            await conn.execute(_HOLD, {"route": key, "ahead": ahead})


def shared_rates(database: Database) -> DatabaseRates | None:
    """The ledger where several processes may share the database, else None. It keeps a
    connection of its own: in a burst every pooled connection is busy storing messages, and
    a post's turn must not queue behind them (the turn it took would then come too late)."""
    if database.dialect_name != "postgresql":
        return None
    url = database.url.render_as_string(hide_password=False)
    # each statement its own transaction: one round trip, and a row lock held no longer
    # (and no ping first: a broken connection fails the statement, and the next one reconnects)
    own = Database(
        url, pool_size=1, max_overflow=0, pool_pre_ping=False, isolation_level="AUTOCOMMIT"
    )
    return DatabaseRates(own)
