"""Shared test settings: the PostgreSQL suite must run in CI, never silently skip there."""

from __future__ import annotations

import os

POSTGRES_URL = os.environ.get(
    "SUPPORTBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
