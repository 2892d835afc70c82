"""`./dev bench`: every benchmark; exits non-zero when a target is missed."""

from __future__ import annotations

import asyncio
import sys

from bench import (
    burst,
    digest,
    export,
    kb_search,
    loop_lag,
    memory,
    memory_platforms,
    similar_tickets,
    slack_ack,
)


def main() -> int:
    results = [
        asyncio.run(slack_ack.main()),
        memory.main(),
        asyncio.run(memory_platforms.main()),
        asyncio.run(digest.main()),
        asyncio.run(loop_lag.main()),
        asyncio.run(burst.main()),
        asyncio.run(export.main()),
        asyncio.run(kb_search.main()),
        asyncio.run(similar_tickets.main()),
    ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
