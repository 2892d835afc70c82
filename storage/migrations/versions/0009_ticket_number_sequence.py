"""Ticket numbers from a sequence on PostgreSQL

The counter row was held from the moment an intake took its number until it committed, so
on PostgreSQL every new ticket, across every worker, waited for the one before it. A
sequence is never held. SQLite keeps the counter row: its writer lock takes intakes one at a
time anyway, and the row keeps numbers gapless there.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQUENCE = "ticket_numbers"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE SEQUENCE {SEQUENCE} AS bigint START WITH 1")
    # the next number follows the highest handed out so far (the counter, or a ticket's own)
    op.execute(
        f"SELECT setval('{SEQUENCE}', greatest(last, 1), last > 0) FROM ("
        " SELECT greatest("
        "  coalesce((SELECT value FROM counters WHERE name = 'ticket'), 0),"
        "  coalesce((SELECT max(number) FROM tickets), 0)) AS last) AS taken"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "UPDATE counters SET value = greatest(value, coalesce("
        f"(SELECT last_value FROM {SEQUENCE} WHERE is_called), 0)) WHERE name = 'ticket'"
    )
    op.execute(f"DROP SEQUENCE {SEQUENCE}")
