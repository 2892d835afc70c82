"""One `supportbot run` per SQLite file.

Two running bots on one SQLite file would both deliver the outbox and both hold a gateway,
so every message could go out twice; SQLite has no way to share that work out (PostgreSQL
does). A second `run` is refused at start, naming the first one's process id."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from storage.engine import StorageUnavailable, check_sqlite_path, resolve_url


class RunLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # not on this system: nothing to hold (Windows)
            return
        try:
            handle = self.path.open("a+", encoding="utf-8")
        except OSError as error:
            raise StorageUnavailable(
                f"cannot hold the run lock {str(self.path)!r}: {error.strerror}"
            ) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            database = self.path.name.removesuffix(".run.lock")
            raise StorageUnavailable(
                f"another supportbot run (pid {holder}) is already using {database}; "
                "SQLite serves one running bot. Stop the other one, or use PostgreSQL "
                "(DATABASE_URL=postgresql://...) to run several."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the lock; the file stays for the next run
            self._file = None


def run_lock_for(database_url: str) -> RunLock | None:
    """The lock a running bot holds on its SQLite file; None for PostgreSQL and memory."""
    url = resolve_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    check_sqlite_path(url)  # a missing or read-only folder is explained, not a traceback
    return RunLock(Path(url.database + ".run.lock"))
