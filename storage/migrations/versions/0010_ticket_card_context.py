"""tickets.earlier_tickets and tickets.similar: what a ticket's card says of the customer's
earlier tickets and of closed tickets like it, kept from when it opened so that every later
card update says it too

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# plain ALTER TABLE, as in 0008: SQLite adds and drops a column in place


def upgrade() -> None:
    op.add_column(
        "tickets", sa.Column("earlier_tickets", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("tickets", sa.Column("similar", sa.JSON(), server_default="[]", nullable=False))


def downgrade() -> None:
    op.drop_column("tickets", "similar")
    op.drop_column("tickets", "earlier_tickets")
